import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Execution } from "../../api/types";
import ExecutionsPage, { isoToLocalInput, localInputToIso } from "./ExecutionsPage";
import { mockFetch, reply } from "../../test/fetch";
import { renderAt } from "../../test/render";

const WF_A = "11111111-1111-1111-1111-111111111111";
const WF_B = "22222222-2222-2222-2222-222222222222";

function execution(id: string, over: Partial<Execution> = {}): Execution {
  return {
    id,
    workflow_id: WF_A,
    workflow_version: 3,
    status: "completed",
    dry_run: false,
    created_at: "2026-12-03T08:00:00Z",
    started_at: "2026-12-03T08:00:00Z",
    completed_at: "2026-12-03T08:00:01.500Z",
    ...over,
  };
}

const workflows = {
  items: [
    { id: WF_A, name: "Lead follow-up" },
    { id: WF_B, name: "Service reminder" },
  ],
  next_cursor: null,
};

afterEach(() => vi.unstubAllGlobals());

describe("ExecutionsPage", () => {
  it("lists executions with the workflow name, status, duration and dry-run marker, each linking to its page", async () => {
    mockFetch({
      "GET /api/workflows": workflows,
      "GET /api/executions": {
        items: [execution("e1"), execution("e2", { workflow_id: WF_B, status: "failed", dry_run: true })],
        next_cursor: null,
      },
    });
    renderAt(<ExecutionsPage />, { path: "/executions", route: "/executions" });

    const first = await screen.findByRole("link", { name: "Lead follow-up" });
    expect(first).toHaveAttribute("href", "/executions/e1");
    const row2 = screen.getByRole("link", { name: "Service reminder" }).closest("tr")!;
    expect(within(row2).getByText("failed")).toBeInTheDocument();
    expect(within(row2).getByText("dry run")).toBeInTheDocument();
    expect(within(first.closest("tr")!).getByText("1.50 s")).toBeInTheDocument();
  });

  it("sends the filters to the API and keeps them in the address", async () => {
    const { calls } = mockFetch({
      "GET /api/workflows": workflows,
      "GET /api/executions": { items: [execution("e1")], next_cursor: null },
    });
    renderAt(<ExecutionsPage />, { path: "/executions", route: "/executions" });
    await screen.findByRole("link", { name: "Lead follow-up" });

    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "failed" } });
    await screen.findByRole("option", { name: "Service reminder" });
    fireEvent.change(screen.getByLabelText("Workflow"), { target: { value: WF_B } });
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-12-01T09:30" } });
    fireEvent.change(screen.getByLabelText("Run type"), { target: { value: "true" } });

    const since = new Date("2026-12-01T09:30").toISOString();
    await waitFor(() => {
      const last = calls.filter((c) => c.path === "/api/executions").at(-1)!;
      expect(last.params.get("status")).toBe("failed");
      expect(last.params.get("workflow_id")).toBe(WF_B);
      expect(last.params.get("since")).toBe(since);
      expect(last.params.get("dry_run")).toBe("true");
      expect(last.params.get("limit")).toBe("50");
    });
    const loc = new URL(screen.getByTestId("location").textContent!, "http://x");
    expect(loc.searchParams.get("status")).toBe("failed");
    expect(loc.searchParams.get("workflow_id")).toBe(WF_B);
    expect(loc.searchParams.get("since")).toBe(since);
    expect(loc.searchParams.get("dry_run")).toBe("true");
  });

  it("reads the filters from a shared link", async () => {
    const { calls } = mockFetch({
      "GET /api/workflows": workflows,
      "GET /api/executions": { items: [], next_cursor: null },
    });
    renderAt(<ExecutionsPage />, {
      path: `/executions?status=waiting&workflow_id=${WF_A}&until=2026-12-02T00:00:00.000Z`,
      route: "/executions",
    });
    expect(await screen.findByText("No executions match these filters")).toBeInTheDocument();
    const req = calls.find((c) => c.path === "/api/executions")!;
    expect(req.params.get("status")).toBe("waiting");
    expect(req.params.get("workflow_id")).toBe(WF_A);
    expect(req.params.get("until")).toBe("2026-12-02T00:00:00.000Z");
    expect(screen.getByLabelText("Status")).toHaveValue("waiting");
    await waitFor(() => expect(screen.getByLabelText("Workflow")).toHaveValue(WF_A));

    fireEvent.click(screen.getAllByRole("button", { name: "Clear filters" })[0]);
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent(/^\/executions$/));
  });

  it("loads the next page with the cursor", async () => {
    const { calls } = mockFetch({
      "GET /api/workflows": workflows,
      "GET /api/executions": (c) =>
        c.params.get("cursor") === "page2"
          ? { items: [execution("e9", { workflow_id: WF_B })], next_cursor: null }
          : { items: [execution("e1")], next_cursor: "page2" },
    });
    renderAt(<ExecutionsPage />, { path: "/executions", route: "/executions" });
    fireEvent.click(await screen.findByRole("button", { name: "Load more" }));
    expect(await screen.findByRole("link", { name: "Service reminder" })).toHaveAttribute("href", "/executions/e9");
    expect(calls.some((c) => c.path === "/api/executions" && c.params.get("cursor") === "page2")).toBe(true);
    expect(screen.getByRole("link", { name: "Lead follow-up" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });

  it("refreshes every 5 s while a listed run is still going, and not once all are final", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let status: Execution["status"] = "running";
      const { calls } = mockFetch({
        "GET /api/workflows": workflows,
        "GET /api/executions": () => ({ items: [execution("e1", { status, completed_at: null })], next_cursor: null }),
      });
      renderAt(<ExecutionsPage />, { path: "/executions", route: "/executions" });
      const table = await screen.findByRole("table");
      expect(within(table).getByText("running")).toBeInTheDocument();
      const count = () => calls.filter((c) => c.path === "/api/executions").length;
      expect(count()).toBe(1);
      status = "completed";
      await act(() => vi.advanceTimersByTimeAsync(5100));
      await waitFor(() => expect(count()).toBe(2));
      expect(await within(screen.getByRole("table")).findByText("completed")).toBeInTheDocument();
      await act(() => vi.advanceTimersByTimeAsync(11000));
      expect(count()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("explains where runs come from when there are none", async () => {
    mockFetch({ "GET /api/workflows": workflows, "GET /api/executions": { items: [], next_cursor: null } });
    renderAt(<ExecutionsPage />, { path: "/executions", route: "/executions" });
    expect(await screen.findByText("No executions yet")).toBeInTheDocument();
    expect(screen.getByText(/run from the studio/)).toBeInTheDocument();
    expect(screen.getByText(/webhook is called/)).toBeInTheDocument();
    expect(screen.getByText(/schedule fires/)).toBeInTheDocument();
  });

  it("shows an API error in place", async () => {
    mockFetch({
      "GET /api/workflows": workflows,
      "GET /api/executions": reply(400, { error: { code: "BAD_REQUEST", message: "since is not an RFC 3339 time" } }),
    });
    renderAt(<ExecutionsPage />, { path: "/executions?since=x", route: "/executions" });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The executions could not be loaded");
    expect(alert).toHaveTextContent("since is not an RFC 3339 time");
  });

  it("converts between the date-time field and RFC 3339", () => {
    const iso = localInputToIso("2026-12-01T09:30");
    expect(iso).toBe(new Date("2026-12-01T09:30").toISOString());
    expect(isoToLocalInput(iso)).toBe("2026-12-01T09:30");
    expect(localInputToIso("")).toBe("");
    expect(isoToLocalInput(null)).toBe("");
  });
});
