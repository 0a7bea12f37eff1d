import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Execution, StepLog } from "../../api/types";
import ExecutionPage, { baseNode, graphStatusesOf } from "./ExecutionPage";
import { mockFetch, reply, type FetchRoutes as Routes_ } from "../../test/fetch";
import { renderAt } from "../../test/render";

const h = vi.hoisted(() => ({
  editor: true,
  socket: { path: null as string | null, handler: null as null | ((frame: unknown) => void) },
}));

vi.mock("../../auth/AuthContext", () => ({
  useAuth: () => ({ can: (role: string) => (role === "viewer" ? true : h.editor) }),
}));

// React Flow needs browser APIs jsdom lacks: a stand-in that shows what the graph was given.
vi.mock("../../graph/GraphView", () => ({
  GraphView: ({ statuses, onNodeClick }: { statuses?: Record<string, string>; onNodeClick?: (id: string) => void }) => (
    <div data-testid="graph">
      {Object.entries(statuses ?? {}).map(([node, status]) => (
        <button key={node} type="button" data-testid={`graph-${node}`} onClick={() => onNodeClick?.(node)}>
          {`graph node ${node} is ${status}`}
        </button>
      ))}
    </div>
  ),
}));

vi.mock("../../api/socket", () => ({
  useSocket: (path: string | null, onMessage: (frame: unknown) => void) => {
    h.socket.path = path;
    h.socket.handler = onMessage;
    return path ? "open" : "closed";
  },
}));

const WF = "11111111-1111-1111-1111-111111111111";
const T = "2026-12-03T08:00:00";

function exec(over: Partial<Execution> = {}): Execution {
  return {
    id: "e1",
    workflow_id: WF,
    workflow_version: 2,
    status: "completed",
    input_data: { customer: "Ann" },
    output_data: { approved: true },
    error_message: null,
    dry_run: false,
    created_at: `${T}.000Z`,
    started_at: `${T}.000Z`,
    completed_at: `${T}.900Z`,
    request_id: "req-42",
    ...over,
  };
}

function log(node_id: string, node_type: string, status: string, attempt = 1, over: Partial<StepLog> = {}): StepLog {
  return {
    node_id,
    node_type,
    status,
    attempt,
    input_data: { from: node_id },
    output_data: status === "completed" ? { done: node_id } : null,
    error_message: null,
    started_at: `${T}.100Z`,
    completed_at: status === "completed" || status === "failed" ? `${T}.200Z` : null,
    duration_ms: 100,
    ...over,
  };
}

const definition = {
  nodes: [
    { id: "start", type: "trigger.manual", config: {} },
    { id: "approve", type: "flow.approval", config: { message: "OK?" } },
    { id: "notify", type: "flow.noop", config: {} },
  ],
  edges: [
    { from: "start", to: "approve" },
    { from: "approve", to: "notify" },
  ],
};

function routes(execution: Execution, logs: StepLog[], extra: Routes_ = {}): Routes_ {
  return {
    "GET /api/executions/e1": execution,
    "GET /api/executions/e1/logs": { items: logs, dry_run: false },
    [`GET /api/workflows/${WF}/versions/2`]: { workflow_id: WF, version: 2, definition },
    [`GET /api/workflows/${WF}`]: { id: WF, name: "Discount approval", definition },
    "GET /api/node-types": [],
    ...extra,
  };
}

const waitingLogs = () => [
  log("start", "trigger.manual", "completed"),
  log("approve", "flow.approval", "waiting", 1, {
    output_data: { message: "waiting for approval", wait: { kind: "approval", message: "Give Ann 5 % off?", expires_at: null } },
  }),
];

const show = () => renderAt(<ExecutionPage />, { path: "/executions/e1", route: "/executions/:id" });

beforeEach(() => {
  h.editor = true;
  h.socket.path = null;
  h.socket.handler = null;
});
afterEach(() => vi.unstubAllGlobals());

describe("ExecutionPage", () => {
  it("shows the execution: heading, workflow link, status, timeline and every step", async () => {
    mockFetch(
      routes(exec(), [
        log("start", "trigger.manual", "completed"),
        log("approve", "flow.approval", "completed", 1, { started_at: `${T}.300Z`, completed_at: `${T}.800Z`, duration_ms: 500 }),
        log("notify", "flow.noop", "completed", 1, { started_at: `${T}.800Z`, completed_at: `${T}.900Z` }),
      ]),
    );
    show();
    expect(await screen.findByRole("heading", { name: "Execution", level: 1 })).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "Discount approval" })).toHaveAttribute("href", `/workflows/${WF}`);
    const summary = screen.getByRole("region", { name: "Summary" });
    expect(within(summary).getByText("completed")).toBeInTheDocument();
    expect(within(summary).getByText("req-42")).toBeInTheDocument();
    expect(within(summary).getByText("900 ms")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Timeline" })).toBeInTheDocument();
    for (const node of ["start", "approve", "notify"]) {
      expect(await screen.findByRole("button", { name: node })).toBeInTheDocument();
    }
    expect(screen.getByTestId("bar-approve#1").style.left).toBe(`${(300 / 900) * 100}%`);
    // The graph gets each node's status.
    expect(await screen.findByText("graph node approve is completed")).toBeInTheDocument();
    // Final: no socket, no actions.
    expect(h.socket.path).toBeNull();
    expect(screen.queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();
  });

  it("shows a step's input, output, error and every attempt when selected", async () => {
    mockFetch(
      routes(exec({ status: "failed", error_message: "node `call` failed: timeout" }), [
        log("start", "trigger.manual", "completed"),
        log("call", "http.request", "failed", 1, { error_message: "timeout after 5 s", input_data: { url: "first" } }),
        log("call", "http.request", "failed", 2, { error_message: "timeout again", started_at: `${T}.300Z`, completed_at: `${T}.400Z` }),
      ]),
    );
    show();
    expect(await screen.findByText("node `call` failed: timeout")).toBeInTheDocument();
    // The failed step is shown first.
    const detail = await screen.findByRole("region", { name: "Step call" });
    expect(within(detail).getByText("2 attempts")).toBeInTheDocument();
    expect(within(detail).getByText("Attempt 1")).toBeInTheDocument();
    expect(within(detail).getByText("Attempt 2")).toBeInTheDocument();
    expect(within(detail).getByText("timeout again")).toBeInTheDocument();
    expect(within(detail).getByText("timeout after 5 s")).toBeInTheDocument();
    expect(within(detail).getByText(/"url": "first"/)).toBeInTheDocument();

    fireEvent.click(screen.getByRole("button", { name: "start" }));
    const start = screen.getByRole("region", { name: "Step start" });
    expect(within(start).getByText(/"done": "start"/)).toBeInTheDocument();
  });

  it("approves a waiting approval with the data typed", async () => {
    const { calls } = mockFetch(
      routes(exec({ status: "waiting", completed_at: null }), waitingLogs(), {
        "POST /api/executions/e1/steps/approve/approve": exec({ status: "pending", completed_at: null }),
      }),
    );
    show();
    const panel = await screen.findByRole("region", { name: "Approval approve" });
    expect(within(panel).getByText("Give Ann 5 % off?")).toBeInTheDocument();
    expect(h.socket.path).toBe("/ws/executions/e1");

    fireEvent.change(within(panel).getByLabelText("Data"), { target: { value: '{"note": "fine", "discount": 5}' } });
    fireEvent.click(within(panel).getByRole("button", { name: "Approve" }));

    expect(await within(panel).findByText(/Approved/)).toBeInTheDocument();
    const sent = calls.find((c) => c.method === "POST")!;
    expect(sent.path).toBe("/api/executions/e1/steps/approve/approve");
    expect(sent.body).toEqual({ data: { note: "fine", discount: 5 } });
  });

  it("rejects with an empty body and shows the API's refusal in place", async () => {
    const { calls } = mockFetch(
      routes(exec({ status: "waiting", completed_at: null }), waitingLogs(), {
        "POST /api/executions/e1/steps/approve/reject": reply(409, {
          error: { code: "CONFLICT", message: "step `approve` is not waiting for a decision" },
        }),
      }),
    );
    show();
    const panel = await screen.findByRole("region", { name: "Approval approve" });
    fireEvent.click(within(panel).getByRole("button", { name: "Reject" }));
    const alert = await within(panel).findByRole("alert");
    expect(alert).toHaveTextContent("The decision was not recorded");
    expect(alert).toHaveTextContent("step `approve` is not waiting for a decision");
    const sent = calls.find((c) => c.method === "POST")!;
    expect(sent.path).toBe("/api/executions/e1/steps/approve/reject");
    expect(sent.body).toEqual({});
  });

  it("refuses data that is not JSON without sending anything", async () => {
    const { calls } = mockFetch(routes(exec({ status: "waiting", completed_at: null }), waitingLogs()));
    show();
    const panel = await screen.findByRole("region", { name: "Approval approve" });
    fireEvent.change(within(panel).getByLabelText("Data"), { target: { value: "{oops" } });
    fireEvent.click(within(panel).getByRole("button", { name: "Approve" }));
    expect(await within(panel).findByText(/not valid JSON/)).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });

  it("offers no decision or cancel to a viewer", async () => {
    h.editor = false;
    mockFetch(routes(exec({ status: "waiting", completed_at: null }), waitingLogs()));
    show();
    const panel = await screen.findByRole("region", { name: "Approval approve" });
    expect(within(panel).queryByRole("button", { name: "Approve" })).not.toBeInTheDocument();
    expect(within(panel).getByText(/An editor/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();
  });

  it("cancels after confirmation, and shows a refusal in the dialog", async () => {
    let answer: unknown = reply(409, { error: { code: "CONFLICT", message: "execution is already completed" } });
    const { calls } = mockFetch(
      routes(exec({ status: "running", completed_at: null }), [log("start", "trigger.manual", "completed")], {
        "POST /api/executions/e1/cancel": () => answer,
      }),
    );
    show();
    fireEvent.click(await screen.findByRole("button", { name: "Cancel" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this run?" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel the run" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("execution is already completed");

    answer = exec({ status: "cancelled" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel the run" }));
    expect(await screen.findByText("The execution was cancelled.")).toBeInTheDocument();
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST" && c.path === "/api/executions/e1/cancel")).toHaveLength(2);
  });

  it("retries a failed execution and says what the server answered", async () => {
    const { calls } = mockFetch(
      routes(exec({ status: "failed", error_message: "boom" }), [log("start", "trigger.manual", "failed")], {
        "POST /api/executions/e1/retry": reply(202, exec({ status: "pending", completed_at: null })),
      }),
    );
    show();
    fireEvent.click(await screen.findByRole("button", { name: "Retry" }));
    expect(await screen.findByText(/Retry started/)).toHaveTextContent("now pending");
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/executions/e1/retry")).toBe(true);
  });

  it("updates step statuses from the live socket at once", async () => {
    mockFetch(routes(exec({ status: "running", completed_at: null }), [log("start", "trigger.manual", "completed")]));
    show();
    await screen.findByText("graph node start is completed");
    await waitFor(() => expect(h.socket.handler).not.toBeNull());
    act(() => {
      h.socket.handler!({ type: "step", node_id: "approve", node_type: "flow.approval", status: "waiting", attempt: 1, at: `${T}.500Z` });
    });
    expect(screen.getByText("graph node approve is waiting")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Approval approve" })).toBeInTheDocument();
  });

  it("shows the steps a cancel stopped as cancelled, with no decision to make", async () => {
    mockFetch(routes(exec({ status: "cancelled", completed_at: `${T}.900Z` }), waitingLogs()));
    show();
    expect(await screen.findByText("graph node approve is cancelled")).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Approval approve" })).not.toBeInTheDocument();
    expect(screen.getByTestId("bar-approve#1")).toHaveClass("bg-slate-400");
  });

  it("explains a deleted workflow instead of the graph", async () => {
    mockFetch({
      "GET /api/executions/e1": exec(),
      "GET /api/executions/e1/logs": { items: [log("start", "trigger.manual", "completed")], dry_run: false },
    });
    show();
    expect(await screen.findByText(/The workflow was deleted/)).toBeInTheDocument();
    expect(screen.getByText("Deleted workflow")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "start" })).toBeInTheDocument();
  });

  it("says when the execution does not exist", async () => {
    mockFetch({ "GET /api/executions/e1": reply(404, { error: { code: "NOT_FOUND", message: "execution not found" } }) });
    show();
    expect(await screen.findByText("This execution does not exist")).toBeInTheDocument();
  });
});

describe("loop bodies", () => {
  it("maps item steps to their node and merges their statuses on the graph", () => {
    expect(baseNode("enrich[12]")).toBe("enrich");
    expect(baseNode("enrich")).toBe("enrich");
    expect(
      graphStatusesOf({ each: "running", "tag[0]": "completed", "tag[1]": "failed", "tag[2]": "running", "x[0]": "skipped", "x[1]": "completed" }),
    ).toEqual({ each: "running", tag: "failed", x: "completed" });
  });

  it("shows item steps in the list and selects the first from the graph", async () => {
    const loopDef = {
      nodes: [
        { id: "each", type: "logic.foreach", config: { items: [1, 2] } },
        { id: "tag", type: "transform.set", config: { fields: {} } },
      ],
      edges: [{ from: "each", output: "item", to: "tag" }],
    };
    mockFetch({
      "GET /api/executions/e1": exec(),
      "GET /api/executions/e1/logs": {
        items: [
          log("each", "logic.foreach", "completed"),
          log("tag[0]", "transform.set", "completed", 1, { input_data: { item: "first" } }),
          log("tag[1]", "transform.set", "completed"),
        ],
      },
      [`GET /api/workflows/${WF}/versions/2`]: { workflow_id: WF, version: 2, definition: loopDef },
      [`GET /api/workflows/${WF}`]: { id: WF, name: "Loop", definition: loopDef },
      "GET /api/node-types": [],
    });
    show();
    fireEvent.click(await screen.findByTestId("graph-tag"));
    expect(screen.getByText("graph node tag is completed")).toBeInTheDocument();
    const detail = screen.getByRole("region", { name: "Step tag[0]" });
    expect(within(detail).getByText(/"item": "first"/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "tag[1]" })).toBeInTheDocument();
    expect(screen.queryByText("not run")).not.toBeInTheDocument();
  });
});
