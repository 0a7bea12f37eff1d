import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { Route } from "react-router-dom";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { fakeAuth } from "../../test/auth";
import { mockFetch, reply, type Call } from "../../test/fetch";
import { renderAt } from "../../test/render";
import WorkflowsPage from "./WorkflowsPage";

vi.mock("../../auth/AuthContext", async () => {
  const fake = await import("../../test/auth");
  return { useAuth: () => fake.authValue() };
});

const wf = (id: string, name: string, extra: Record<string, unknown> = {}) => ({
  id,
  name,
  description: "",
  definition: { nodes: [{ id: "start", type: "trigger.manual" }], edges: [] },
  version: 1,
  is_active: true,
  webhook_url: null,
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  ...extra,
});

let workflows: ReturnType<typeof wf>[] = [];
let requests: Call[] = [];

const lastRuns = (id: string) => () => ({
  items: id === "w1" ? [{ id: "e1", workflow_id: "w1", workflow_version: 1, status: "failed", created_at: "2026-12-02T09:00:00Z" }] : [],
  next_cursor: null,
});

beforeEach(() => {
  fakeAuth.role = "editor";
  workflows = [
    wf("w1", "Text new web leads", { description: "Sends an SMS to each new lead" }),
    wf("w2", "Service reminder", { is_active: false }),
    wf("w3", "Weekly sales report"),
  ];
  ({ calls: requests } = mockFetch({
    "GET /api/workflows": () => ({ items: workflows, next_cursor: null }),
    "GET /api/workflows/w1/executions": lastRuns("w1"),
    "GET /api/workflows/w2/executions": lastRuns("w2"),
    "GET /api/workflows/w3/executions": lastRuns("w3"),
    "POST /api/workflows": (call) => reply(201, wf("new1", (call.body as { name: string }).name)),
    "DELETE /api/workflows/w2": reply(204),
  }));
});

function renderPage() {
  return renderAt(<WorkflowsPage />, {
    path: "/workflows",
    route: "/workflows",
    routes: <Route path="/workflows/:id" element={<p>Studio opened</p>} />,
  });
}

describe("WorkflowsPage", () => {
  it("lists workflows with status and last run, and filters by search and status", async () => {
    renderPage();
    expect(await screen.findByRole("link", { name: "Text new web leads" })).toHaveAttribute("href", "/workflows/w1");
    const rows = screen.getAllByRole("row");
    expect(rows).toHaveLength(4);
    expect(within(rows[2]).getByText("inactive")).toBeInTheDocument();
    expect(await within(rows[1]).findByText("failed")).toBeInTheDocument();
    expect(await within(rows[2]).findByText("Never run")).toBeInTheDocument();

    fireEvent.change(screen.getByLabelText("Search workflows"), { target: { value: "sms" } });
    expect(screen.getAllByRole("row")).toHaveLength(2);
    expect(screen.getByRole("link", { name: "Text new web leads" })).toBeInTheDocument();

    fireEvent.change(screen.getByLabelText("Search workflows"), { target: { value: "nothing like it" } });
    expect(screen.getByText("No workflow matches")).toBeInTheDocument();

    fireEvent.change(screen.getByLabelText("Search workflows"), { target: { value: "" } });
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "inactive" } });
    expect(screen.getAllByRole("row")).toHaveLength(2);
    expect(screen.getByRole("link", { name: "Service reminder" })).toBeInTheDocument();
  });

  it("creates a workflow with a manual trigger and opens it in the studio", async () => {
    renderPage();
    await screen.findByRole("link", { name: "Text new web leads" });
    fireEvent.click(screen.getByRole("button", { name: "New workflow" }));
    const dialog = screen.getByRole("dialog", { name: "New workflow" });
    expect(within(dialog).getByRole("button", { name: "Create" })).toBeDisabled();
    fireEvent.change(within(dialog).getByLabelText("Name"), { target: { value: "Lead follow-up" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Create" }));
    expect(await screen.findByText("Studio opened")).toBeInTheDocument();
    const post = requests.find((r) => r.method === "POST" && r.url === "/api/workflows");
    expect(post?.body).toMatchObject({ name: "Lead follow-up", definition: { nodes: [{ id: "start", type: "trigger.manual" }], edges: [] } });
  });

  it("deletes after confirmation", async () => {
    renderPage();
    await screen.findByRole("link", { name: "Service reminder" });
    fireEvent.click(screen.getByRole("button", { name: "Delete Service reminder" }));
    const dialog = screen.getByRole("dialog", { name: "Delete workflow?" });
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
    workflows = workflows.filter((w) => w.id !== "w2");
    fireEvent.click(within(dialog).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(screen.queryByRole("link", { name: "Service reminder" })).not.toBeInTheDocument());
    expect(requests.find((r) => r.method === "DELETE")?.url).toBe("/api/workflows/w2");
  });

  it("explains what to do when there is no workflow", async () => {
    workflows = [];
    renderPage();
    expect(await screen.findByText("No workflows yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Browse templates" })).toHaveAttribute("href", "/templates");
    expect(screen.getAllByRole("button", { name: "New workflow" })).toHaveLength(1);
  });

  it("shows an API error in place", async () => {
    mockFetch({ "GET /api/workflows": reply(500, { error: { code: "INTERNAL_ERROR", message: "Something broke" } }) });
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("Something broke");
  });
});
