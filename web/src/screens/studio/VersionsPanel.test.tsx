import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { mockFetch, reply, type Call } from "../../test/fetch";
import { stubReactFlowDom } from "../../test/reactflow";
import { renderAt } from "../../test/render";
import { VersionsPanel } from "./VersionsPanel";

beforeAll(stubReactFlowDom);

const def1 = { nodes: [{ id: "start", type: "trigger.manual" }], edges: [] };
const def2 = { nodes: [...def1.nodes, { id: "hot", type: "transform.set", config: { fields: {} } }], edges: [{ from: "start", to: "hot" }] };
const versions = [
  { workflow_id: "w1", version: 2, definition: def2, author: { id: "u", name: "Ann", email: "a@x" }, summary: "1 node added; 1 edge added", restored_from: null, created_at: "2026-12-02T10:00:00Z" },
  { workflow_id: "w1", version: 1, definition: def1, author: null, summary: "created", restored_from: null, created_at: "2026-12-01T10:00:00Z" },
];
let requests: Call[] = [];

beforeEach(() => {
  ({ calls: requests } = mockFetch({
    "GET /api/node-types": [],
    "GET /api/workflows/w1/versions": versions,
    "GET /api/workflows/w1/versions/1/diff": { workflow_id: "w1", version: 1, against: null, summary: "1 node added", nodes: { added: ["start"], removed: [], changed: [] }, edges: { added: [], removed: [] }, other: [] },
    "GET /api/workflows/w1/versions/2/diff": (call) =>
      call.params.get("against") === "1"
        ? {
            workflow_id: "w1",
            version: 2,
            against: 1,
            summary: "1 node added, 1 changed; 1 edge added",
            nodes: { added: ["hot"], removed: [], changed: [{ id: "start", fields: ["position"] }] },
            edges: { added: [{ from: "start", to: "hot" }], removed: [] },
            other: ["settings"],
          }
        : reply(404, { error: { code: "NOT_FOUND", message: "not found" } }),
    "POST /api/workflows/w1/versions/1/restore": { id: "w1", name: "x", definition: def1, version: 3, is_active: true },
  }));
});

function renderPanel(onRestored = vi.fn()) {
  renderAt(<VersionsPanel workflowId="w1" current={2} canRestore onRestored={onRestored} onClose={() => {}} />);
  return onRestored;
}

describe("VersionsPanel", () => {
  it("lists versions with their summaries and authors, and shows a readable diff", async () => {
    renderPanel();
    const v1 = await screen.findByRole("button", { name: /Version 1/ });
    expect(screen.getByRole("button", { name: /Version 2/ })).toHaveTextContent("current");
    expect(screen.getByText("1 node added; 1 edge added")).toBeInTheDocument();
    expect(v1).toHaveTextContent("by a former member");
    fireEvent.click(v1);
    expect(await screen.findByText(/Version 1 is the first version/)).toBeInTheDocument();
    const items = () => Array.from(document.querySelectorAll("aside li li")).map((li) => li.textContent);
    expect(items()).toEqual(["+ node start added"]);
    fireEvent.click(screen.getByLabelText(/What changed since/));
    expect(await screen.findByText(/Changes from version 1 to version 2/)).toBeInTheDocument();
    expect(items()).toEqual([
      "+ node hot added",
      "~ node start changed: position (moved on the canvas)",
      "+ connection start → hot",
      "~ settings changed",
    ]);
  });

  it("restores a version after confirmation", async () => {
    const onRestored = renderPanel();
    fireEvent.click(await screen.findByRole("button", { name: /Version 1/ }));
    fireEvent.click(await screen.findByRole("button", { name: "Restore version 1" }));
    const dialog = screen.getByRole("dialog", { name: "Restore version 1?" });
    expect(requests.some((r) => r.method === "POST")).toBe(false);
    fireEvent.click(within(dialog).getByRole("button", { name: "Restore" }));
    await waitFor(() => expect(onRestored).toHaveBeenCalledWith(expect.objectContaining({ version: 3 })));
    expect(requests.find((r) => r.method === "POST")?.url).toBe("/api/workflows/w1/versions/1/restore");
  });
});
