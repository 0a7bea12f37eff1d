import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeAuth } from "../../test/auth";
import { mockFetch, reply, type Answer, type Call } from "../../test/fetch";
import { nodeType } from "../../test/nodeTypes";
import { stubReactFlowDom } from "../../test/reactflow";
import { renderAt } from "../../test/render";
import StudioPage from "./StudioPage";

vi.mock("../../auth/AuthContext", async () => {
  const fake = await import("../../test/auth");
  return { useAuth: () => fake.authValue() };
});

beforeAll(stubReactFlowDom);

const types = [
  nodeType({
    type: "trigger.manual",
    display_name: "Manual trigger",
    description: "Starts by hand.",
    is_trigger: true,
  }),
  nodeType({
    type: "transform.set",
    display_name: "Set fields",
    description: "Sets fields.",
    config_schema: { type: "object", required: ["fields"], properties: { fields: { type: "object" }, keep_input: { type: "boolean", default: true } } },
  }),
];

let workflow: Record<string, unknown>;
let validate: (body: any) => Answer;
let requests: (Call & { body: any })[] = [];

beforeEach(() => {
  fakeAuth.role = "editor";
  validate = () => ({ valid: true, problems: [] });
  workflow = {
    id: "w1",
    name: "Lead follow-up",
    description: "",
    definition: { nodes: [{ id: "start", type: "trigger.manual", position: { x: 0, y: 0 } }], edges: [] },
    version: 3,
    is_active: true,
    webhook_url: null,
    created_at: "2026-12-01T10:00:00Z",
    updated_at: "2026-12-01T10:00:00Z",
  };
  const { calls } = mockFetch({
    "GET /api/node-types": types,
    "POST /api/workflows/validate": (call) => validate(call.body),
    "POST /api/auth/ws-ticket": { ticket: "wst_1" },
    "POST /api/workflows/w1/execute": (call) => reply(202, { execution_id: "e1", status: "pending", dry_run: (call.body as { dry_run: boolean }).dry_run }),
    "GET /api/workflows/w1": () => workflow,
    "PUT /api/workflows/w1": ({ body }: { body: any }) => {
      const nodes = body.definition.nodes as { type: string; config?: { fields?: unknown } }[];
      if (nodes.some((n) => n.type === "transform.set" && !n.config?.fields)) {
        return reply(422, { error: { code: "VALIDATION_ERROR", message: "workflow definition is invalid", details: [{ path: "nodes[1].config", issue: '"fields" is a required property' }] } });
      }
      workflow = { ...workflow, ...body, version: (workflow.version as number) + 1 };
      return workflow;
    },
  });
  requests = calls as typeof requests;
});

afterEach(() => {
  vi.useRealTimers();
});

function renderStudio() {
  return renderAt(<StudioPage />, { path: "/workflows/w1", route: "/workflows/:id" });
}

const addSetFields = () => fireEvent.click(within(screen.getByRole("complementary", { name: "Node palette" })).getByRole("button", { name: /Set fields/ }));

/** Opens the studio on workflow w1 and, once it has loaded, adds a "Set fields" node from the palette. */
async function openAndAddSetFields() {
  renderStudio();
  await screen.findByLabelText("Workflow name");
  addSetFields();
}

describe("StudioPage", () => {
  it("adds a node from the palette, undoes and redoes it, and saves a new version", async () => {
    renderStudio();
    expect(await screen.findByLabelText("Workflow name")).toHaveValue("Lead follow-up");
    expect(screen.getByText("Version 3")).toBeInTheDocument();
    const palette = screen.getByRole("complementary", { name: "Node palette" });
    fireEvent.click(within(palette).getByRole("button", { name: /Set fields/ }));
    expect(await screen.findByTestId("node-transform_set")).toBeInTheDocument();
    expect(screen.getByText(/Unsaved changes/)).toBeInTheDocument();
    // The new node is selected: its settings are open, with the schema's defaults.
    const settings = screen.getByRole("complementary", { name: "Node settings" });
    expect(within(settings).getByLabelText("keep_input")).toBeChecked();
    expect(within(settings).getByLabelText("fields")).toHaveValue("{}");

    fireEvent.click(screen.getByRole("button", { name: "Undo" }));
    await waitFor(() => expect(screen.queryByTestId("node-transform_set")).not.toBeInTheDocument());
    fireEvent.click(screen.getByRole("button", { name: "Redo" }));
    expect(await screen.findByTestId("node-transform_set")).toBeInTheDocument();

    fireEvent.change(within(screen.getByRole("complementary", { name: "Node settings" })).getByLabelText("fields"), { target: { value: '{"priority": "hot"}' } });
    // Connect the trigger to it from the trigger's settings (no dragging needed).
    fireEvent.click(screen.getByTestId("node-start"));
    const startSettings = await screen.findByRole("complementary", { name: "Node settings" });
    expect(within(startSettings).getByText(/Nothing runs after this step yet/)).toBeInTheDocument();
    fireEvent.change(within(startSettings).getByLabelText("Connect to"), { target: { value: "transform_set" } });
    fireEvent.click(within(startSettings).getByRole("button", { name: "Connect" }));
    expect(within(startSettings).getByRole("button", { name: "Remove connection main to transform_set" })).toBeInTheDocument();

    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Saved · version 4")).toBeInTheDocument();
    const put = requests.find((r) => r.method === "PUT")!;
    expect(put.body.name).toBe("Lead follow-up");
    expect(put.body.definition.edges).toEqual([{ from: "start", to: "transform_set" }]);
    expect(put.body.definition.nodes[1]).toMatchObject({ id: "transform_set", type: "transform.set", config: { fields: { priority: "hot" }, keep_input: true } });
  });

  it("pins a failed save's problems to the node", async () => {
    await openAndAddSetFields();
    const settings = await screen.findByRole("complementary", { name: "Node settings" });
    fireEvent.change(within(settings).getByLabelText("fields"), { target: { value: "" } });
    await act(async () => {
      fireEvent.keyDown(window, { key: "s", ctrlKey: true });
    });
    expect(await screen.findByText(/Not saved: workflow definition is invalid/)).toBeInTheDocument();
    // (React Flow hides unmeasured nodes from the accessibility tree in jsdom: query by label.)
    expect(screen.getByLabelText("Problems of transform_set")).toHaveTextContent('config: "fields" is a required property');
    expect(screen.getByRole("region", { name: "Problems" })).toHaveTextContent("1 problem");
  });

  it("validates as the definition changes and pins the problems to nodes", async () => {
    validate = (body) => ({
      valid: body.definition.nodes.length < 2,
      problems: body.definition.nodes.length < 2 ? [] : [
        { path: "nodes[1]", issue: "not reachable from the trigger" },
        { path: "settings.timeout_ms", issue: "must be at least 1" },
      ],
    });
    await openAndAddSetFields();
    await waitFor(() => expect(screen.getByLabelText("Problems of transform_set")).toHaveTextContent("not reachable from the trigger"), { timeout: 2000 });
    const strip = screen.getByRole("region", { name: "Problems" });
    expect(strip).toHaveTextContent("2 problems");
    expect(strip).toHaveTextContent("settings.timeout_ms");
    const sent = requests.filter((r) => r.url === "/api/workflows/validate").at(-1)!;
    expect(sent.method).toBe("POST");
    expect(sent.body.definition.nodes.map((n: { id: string }) => n.id)).toEqual(["start", "transform_set"]);
    fireEvent.click(screen.getByRole("button", { name: "Undo" }));
    await waitFor(() => expect(screen.queryByRole("region", { name: "Problems" })).not.toBeInTheDocument(), { timeout: 2000 });
  });

  it("deletes the selected node with the Delete key, but not while typing", async () => {
    await openAndAddSetFields();
    await screen.findByTestId("node-transform_set");
    fireEvent.keyDown(screen.getByLabelText("Node name"), { key: "Delete" });
    expect(screen.getByTestId("node-transform_set")).toBeInTheDocument();
    fireEvent.keyDown(document.body, { key: "Delete" });
    await waitFor(() => expect(screen.queryByTestId("node-transform_set")).not.toBeInTheDocument());
    // Copy and paste the trigger: a fresh id.
    fireEvent.keyDown(document.body, { key: "z", ctrlKey: true });
    await screen.findByTestId("node-transform_set");
    fireEvent.click(screen.getByTestId("node-transform_set"));
    expect(await screen.findByRole("complementary", { name: "Node settings" })).toBeInTheDocument();
    fireEvent.keyDown(document.body, { key: "c", ctrlKey: true });
    fireEvent.keyDown(document.body, { key: "v", ctrlKey: true });
    expect(await screen.findByTestId("node-transform_set_2")).toBeInTheDocument();
  });

  it("works without live validation when the server does not offer it", async () => {
    validate = () => reply(405, { error: { code: "METHOD_NOT_ALLOWED", message: "method not allowed" } });
    await openAndAddSetFields();
    await waitFor(() => expect(requests.filter((r) => r.url === "/api/workflows/validate")).toHaveLength(1), { timeout: 2000 });
    addSetFields();
    await new Promise((r) => setTimeout(r, 600));
    // Asked once; no problem shown, no error.
    expect(requests.filter((r) => r.url === "/api/workflows/validate")).toHaveLength(1);
    expect(screen.queryByRole("region", { name: "Problems" })).not.toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("runs with input, saving first, and shows each step's status live", async () => {
    const sockets: FakeSocket[] = [];
    class FakeSocket {
      url: string;
      onopen: (() => void) | null = null;
      onmessage: ((ev: { data: string }) => void) | null = null;
      onclose: ((ev: { code: number }) => void) | null = null;
      onerror: (() => void) | null = null;
      constructor(url: string) {
        this.url = url;
        sockets.push(this);
        setTimeout(() => this.onopen?.(), 0);
      }
      send() {}
      close() {}
      emit(frame: unknown) {
        this.onmessage?.({ data: JSON.stringify(frame) });
      }
    }
    vi.stubGlobal("WebSocket", FakeSocket);
    await openAndAddSetFields();
    await screen.findByTestId("node-transform_set");
    fireEvent.click(screen.getByRole("button", { name: "Run" }));
    const dialog = await screen.findByRole("dialog", { name: "Run workflow" });
    // Unsaved changes were saved first.
    expect(requests.some((r) => r.method === "PUT")).toBe(true);
    const input = within(dialog).getByLabelText("Input (JSON)");
    expect(input).toHaveValue("{}");
    fireEvent.change(input, { target: { value: "{bad" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Start run" }));
    expect(await within(dialog).findByText(/Not valid JSON/)).toBeInTheDocument();
    fireEvent.change(input, { target: { value: '{"body": {"email": "jo@example.com"}}' } });
    fireEvent.click(within(dialog).getByLabelText(/Dry run/));
    fireEvent.click(within(dialog).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const run = requests.find((r) => r.url === "/api/workflows/w1/execute")!;
    expect(run.body).toEqual({ input: { body: { email: "jo@example.com" } }, dry_run: true });
    expect(screen.getByRole("link", { name: "Open execution" })).toHaveAttribute("href", "/executions/e1");

    await waitFor(() => expect(sockets).toHaveLength(1));
    expect(sockets[0].url).toContain("/ws/executions/e1?ticket=wst_1");
    act(() => {
      sockets[0].emit({ type: "step", execution_id: "e1", node_id: "start", status: "completed" });
      sockets[0].emit({ type: "step", execution_id: "e1", node_id: "transform_set", status: "running" });
    });
    expect(screen.getByTestId("node-start")).toHaveAttribute("data-status", "completed");
    expect(screen.getByTestId("node-transform_set")).toHaveAttribute("data-status", "running");
    act(() => {
      sockets[0].emit({ type: "step", execution_id: "e1", node_id: "transform_set", status: "completed" });
      sockets[0].emit({ type: "execution", execution_id: "e1", status: "completed" });
    });
    expect(screen.getByTestId("node-transform_set")).toHaveAttribute("data-status", "completed");
    expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent("completed");
    fireEvent.click(screen.getByRole("button", { name: "Clear" }));
    expect(screen.getByTestId("node-transform_set")).toHaveAttribute("data-status", "");
  });
});
