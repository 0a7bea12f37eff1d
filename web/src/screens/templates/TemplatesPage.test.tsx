import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, useParams } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeAuth } from "../../test/auth";
import { mockFetch, type Call } from "../../test/fetch";
import { renderAt } from "../../test/render";
import TemplatesPage from "./TemplatesPage";

vi.mock("../../graph/GraphView", () => ({
  GraphView: ({ definition }: { definition: { nodes: unknown[] } }) => <div data-testid="graph">{definition.nodes.length} nodes drawn</div>,
}));

vi.mock("../../auth/AuthContext", async () => {
  const fake = await import("../../test/auth");
  return { useAuth: () => fake.authValue() };
});

const discount = {
  id: "t-discount",
  slug: "discount-approval",
  name: "Discount approval",
  category: "Sales",
  description: "The manager approves big discounts.",
  builtin: true,
  node_count: 7,
  parameters: [
    { name: "store_name", type: "string", required: true, example: "Valley Honda", description: "Shown to customers." },
    { name: "max_discount_percent", type: "number", required: false, default: 5, example: 5, description: "The limit." },
    { name: "notify_sales", type: "boolean", required: false, default: true, example: true },
    { name: "vin_mode", type: "enum", options: ["strict", "lenient"], required: true, example: "strict" },
    { name: "smtp", type: "credential", credential_type: "smtp", required: true, description: "The mail server." },
    { name: "sms", type: "credential", credential_type: "twilio", required: true },
  ],
};
const reorder = {
  id: "t-reorder",
  name: "Parts reorder alert",
  category: "Parts",
  description: "Parts at their reorder point.",
  builtin: true,
  node_count: 4,
  parameters: [{ name: "store_name", type: "string", required: true, example: "Valley Honda" }],
};
const reminders = {
  id: "t-reminders",
  name: "Service appointment reminders",
  category: "Service",
  description: "Texts tomorrow's customers.",
  builtin: true,
  node_count: 1,
  parameters: [],
};
const definition = (n: number) => ({ nodes: Array.from({ length: n }, (_, i) => ({ id: `n${i}`, type: "flow.noop" })), edges: [] });

let calls: Call[];
let instantiate: (body: unknown) => { status: number; body: unknown };

beforeEach(() => {
  fakeAuth.role = "editor";
  instantiate = () => json201({ id: "wf-new", name: "x" });
  ({ calls } = mockFetch({
    "GET /api/templates": { items: [reorder, discount, reminders] },
    "GET /api/templates/t-discount": { ...discount, definition: definition(7) },
    "GET /api/templates/t-reorder": { ...reorder, definition: definition(4) },
    "GET /api/templates/t-reminders": { ...reminders, definition: definition(1) },
    "GET /api/credentials": {
      items: [
        { id: "cred-smtp-1", name: "Store mail", type: "smtp" },
        { id: "cred-smtp-2", name: "Backup mail", type: "smtp" },
        { id: "cred-http", name: "CRM token", type: "http_bearer" },
      ],
    },
    "POST /api/templates/t-discount/instantiate": ({ body }) => instantiate(body),
  }));
});
afterEach(() => vi.unstubAllGlobals());

function json201(body: unknown) {
  return { status: 201, body };
}

function Studio() {
  const { id } = useParams();
  return <p>Studio for {id}</p>;
}

const renderPage = () =>
  renderAt(<TemplatesPage />, { path: "/templates", route: "/templates", routes: <Route path="/workflows/:id" element={<Studio />} /> });

const card = (name: string) => screen.getByRole("article", { name });

describe("TemplatesPage gallery", () => {
  it("groups cards by category with node counts, and filters by search and category", async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("heading", { name: "Discount approval" });
    const headings = screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent);
    expect(headings).toEqual(["Sales (1)", "Service (1)", "Parts (1)"]);
    expect(await within(card("Discount approval")).findByText(/7 steps/)).toBeInTheDocument();
    // The list answers the step counts: no template is fetched for its card.
    expect(calls.filter((c) => c.path.startsWith("/api/templates/"))).toEqual([]);
    expect(within(card("Discount approval")).getByText(/6 settings to fill in/)).toBeInTheDocument();

    await user.type(screen.getByLabelText("Search templates"), "reorder");
    expect(screen.queryByRole("article", { name: "Discount approval" })).not.toBeInTheDocument();
    expect(card("Parts reorder alert")).toBeInTheDocument();

    await user.clear(screen.getByLabelText("Search templates"));
    await user.click(within(screen.getByRole("group", { name: "Category" })).getByRole("button", { name: "Service" }));
    expect(screen.getAllByRole("article").map((a) => a.getAttribute("aria-labelledby"))).toEqual(["template-t-reminders"]);

    await user.type(screen.getByLabelText("Search templates"), "nothing like this");
    expect(screen.getByText("No template matches")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Show all templates" }));
    expect(screen.getAllByRole("article")).toHaveLength(3);
  });

  it("previews the graph", async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Preview Discount approval" }));
    const dialog = screen.getByRole("dialog", { name: "Preview: Discount approval" });
    expect(await within(dialog).findByTestId("graph")).toHaveTextContent("7 nodes drawn");
  });

  it("shows viewers the gallery without Use template", async () => {
    fakeAuth.role = "viewer";
    renderPage();
    await screen.findByRole("heading", { name: "Discount approval" });
    expect(screen.queryByRole("button", { name: "Use template" })).not.toBeInTheDocument();
    expect(screen.getByText(/needs the editor role/)).toBeInTheDocument();
  });
});

describe("the instantiate dialog", () => {
  async function openDialog() {
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("heading", { name: "Discount approval" });
    await user.click(within(card("Discount approval")).getByRole("button", { name: "Use template" }));
    const dialog = screen.getByRole("dialog", { name: "Discount approval" });
    return { user, dialog };
  }

  it("generates one field per parameter and sends typed values", async () => {
    const { user, dialog } = await openDialog();
    const d = within(dialog);
    expect(d.getByLabelText("Name")).toHaveValue("Discount approval");
    const store = d.getByLabelText("Store name");
    expect(store).toHaveAttribute("placeholder", "e.g. Valley Honda");
    expect(store).toHaveAccessibleDescription("Shown to customers.");
    expect(d.getByLabelText("Max discount percent")).toHaveValue(5);
    expect(d.getByLabelText("Notify sales")).toBeChecked();
    const vin = d.getByLabelText("VIN mode");
    expect(within(vin).getAllByRole("option").map((o) => o.textContent)).toEqual(["Choose…", "strict", "lenient"]);

    // Credentials: only those of the named type; none of the other → a note with a link.
    const smtp = await d.findByRole("option", { name: "Store mail" });
    expect(within(d.getByLabelText("SMTP")).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Choose a credential",
      "Store mail",
      "Backup mail",
    ]);
    expect(smtp).toBeInTheDocument();
    expect(within(d.getByLabelText("SMS")).getAllByRole("option").map((o) => o.textContent)).toEqual(["No Twilio (texts) credentials"]);
    expect(d.getByRole("link", { name: "Settings → Credentials" })).toHaveAttribute("href", "/settings/credentials");
    expect(d.getAllByText("Required")).toHaveLength(4);

    await user.clear(d.getByLabelText("Name"));
    await user.type(d.getByLabelText("Name"), "Desk approvals");
    await user.type(store, "Valley Honda");
    await user.clear(d.getByLabelText("Max discount percent"));
    await user.type(d.getByLabelText("Max discount percent"), "8");
    await user.click(d.getByLabelText("Notify sales"));
    await user.selectOptions(vin, "lenient");
    await user.selectOptions(d.getByLabelText("SMTP"), "cred-smtp-2");
    await user.click(d.getByRole("button", { name: "Create workflow" }));

    expect(await screen.findByText("Studio for wf-new")).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST");
    expect(post?.url).toBe("/api/templates/t-discount/instantiate");
    expect(post?.body).toEqual({
      name: "Desk approvals",
      parameters: { store_name: "Valley Honda", max_discount_percent: 8, notify_sales: false, vin_mode: "lenient", smtp: "cred-smtp-2" },
    });
  });

  it("shows 422 details at the matching fields and in an error box", async () => {
    instantiate = () => ({
      status: 422,
      body: {
        error: {
          code: "VALIDATION_ERROR",
          message: "template parameters are invalid",
          details: [
            { path: "parameters.store_name", issue: "is required" },
            { path: "parameters.sms", issue: "is required" },
          ],
        },
      },
    });
    const { user, dialog } = await openDialog();
    const d = within(dialog);
    await user.click(d.getByRole("button", { name: "Create workflow" }));

    const alert = await d.findByRole("alert");
    expect(alert).toHaveTextContent("template parameters are invalid");
    expect(alert).toHaveTextContent("parameters.store_name");
    expect(d.getByLabelText("Store name")).toHaveAttribute("aria-invalid", "true");
    expect(d.getByLabelText("Store name")).toHaveAccessibleDescription(/is required/);
    expect(d.getByLabelText("SMS")).toHaveAttribute("aria-invalid", "true");
    expect(d.getByLabelText("SMTP")).toHaveAttribute("aria-invalid", "false");
    expect(screen.queryByText(/Studio for/)).not.toBeInTheDocument();
  });
});
