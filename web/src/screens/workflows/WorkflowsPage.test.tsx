import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { beforeEach, describe, expect, it, vi } from "vitest";
import WorkflowsPage from "./WorkflowsPage";

const auth = { role: "editor", can: (r: string) => r !== "admin" && r !== "owner" };
vi.mock("../../auth/AuthContext", () => ({ useAuth: () => auth }));

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
const requests: { method: string; url: string; body: unknown }[] = [];

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

beforeEach(() => {
  requests.length = 0;
  workflows = [
    wf("w1", "Text new web leads", { description: "Sends an SMS to each new lead" }),
    wf("w2", "Service reminder", { is_active: false }),
    wf("w3", "Weekly sales report"),
  ];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      const method = init?.method ?? "GET";
      const body = init?.body ? JSON.parse(String(init.body)) : undefined;
      requests.push({ method, url, body });
      if (method === "GET" && url.startsWith("/api/workflows?")) return json({ items: workflows, next_cursor: null });
      const last = /^\/api\/workflows\/(\w+)\/executions/.exec(url);
      if (last) {
        return json({
          items: last[1] === "w1" ? [{ id: "e1", workflow_id: "w1", workflow_version: 1, status: "failed", created_at: "2026-12-02T09:00:00Z" }] : [],
          next_cursor: null,
        });
      }
      if (method === "POST" && url === "/api/workflows") return json(wf("new1", body.name), 201);
      if (method === "DELETE") return new Response(null, { status: 204 });
      return json({ error: { code: "NOT_FOUND", message: "not found" } }, 404);
    }),
  );
});

function renderPage() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/workflows"]}>
        <Routes>
          <Route path="/workflows" element={<WorkflowsPage />} />
          <Route path="/workflows/:id" element={<p>Studio opened</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
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
    vi.stubGlobal("fetch", vi.fn(async () => json({ error: { code: "INTERNAL_ERROR", message: "Something broke" } }, 500)));
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("Something broke");
  });
});
