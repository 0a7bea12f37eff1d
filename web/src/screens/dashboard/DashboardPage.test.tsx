import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { cloneElement, type ReactElement } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import DashboardPage from "./DashboardPage";
import { mockFetch, reply, type Call } from "../../test/fetch";
import { renderAt } from "../../test/render";
import type { MetricsSummary } from "./metrics";

// jsdom has no layout: give the charts a fixed size.
vi.mock("recharts", async (importOriginal) => {
  const actual = await importOriginal<typeof import("recharts")>();
  return {
    ...actual,
    ResponsiveContainer: ({ children }: { children: ReactElement<{ width?: number; height?: number }> }) =>
      cloneElement(children, { width: 800, height: 300 }),
  };
});

// The live socket: the test pushes frames through the handler the page gave.
const socket: { path: string | null; push: ((msg: unknown) => void) | null } = { path: null, push: null };
vi.mock("../../api/socket", () => ({
  useSocket: (path: string | null, onMessage: (msg: unknown) => void) => {
    socket.path = path;
    socket.push = onMessage;
    return path ? "open" : "connecting";
  },
}));

const zero = { pending: 0, running: 0, waiting: 0, completed: 0, failed: 0, cancelled: 0 };

function summary(over: Partial<MetricsSummary> = {}): MetricsSummary {
  return {
    since: "2026-03-01T00:00:00Z",
    until: "2026-03-02T00:00:00Z",
    workflow_id: null,
    bucket: "hour",
    total: 11,
    by_status: { pending: 1, running: 1, waiting: 1, completed: 6, failed: 1, cancelled: 1 },
    success_rate: 0.75,
    duration_ms: { p50: 400, p95: 3000 },
    workflows: [
      { workflow_id: "wf-fast", name: "Fast one", total: 5, by_status: { ...zero, completed: 5 }, success_rate: 1, duration_ms: { p50: 100, p95: 200 } },
      { workflow_id: "wf-slow", name: "Old name", total: 6, by_status: { ...zero, completed: 1, failed: 1 }, success_rate: 0.5, duration_ms: { p50: 2000, p95: 3000 } },
    ],
    series: [
      { at: "2026-03-01T10:00:00Z", total: 6, ...zero, completed: 4, failed: 1, cancelled: 1 },
      { at: "2026-03-01T11:00:00Z", total: 5, ...zero, completed: 2, pending: 1, running: 1, waiting: 1 },
    ],
    ai: { cost_usd: 0.75, input_tokens: 2000, output_tokens: 200, calls: 2 },
    ...over,
  };
}

const emptySummary = () => summary({ total: 0, by_status: zero, success_rate: null, duration_ms: { p50: null, p95: null }, workflows: [], series: [{ at: "2026-03-01T10:00:00Z", total: 0, ...zero }], ai: { cost_usd: 0, input_tokens: 0, output_tokens: 0, calls: 0 } });

let answers: { summary: () => MetricsSummary; workflows: { id: string; name: string }[] };
let calls: Call[];
/** The addresses fetched so far, with their query strings. */
const urls = () => calls.map((c) => c.url);

beforeEach(() => {
  socket.path = null;
  socket.push = null;
  answers = { summary: () => summary(), workflows: [{ id: "wf-slow", name: "Service reminder" }, { id: "wf-fast", name: "Lead intake" }] };
  ({ calls } = mockFetch({
    "GET /api/metrics/summary": () => answers.summary(),
    "GET /api/workflows": () => ({ items: answers.workflows, next_cursor: null }),
    "GET /api/ai/usage": { total_cost_usd: 0.75, input_tokens: 2000, output_tokens: 200, calls: 2, group_by: "day", since: "2026-03-01T00:00:00Z", until: "2026-03-02T00:00:00Z", items: [{ key: "2026-03-01", cost_usd: 0.75, input_tokens: 2000, output_tokens: 200, calls: 2 }] },
  }));
});
afterEach(() => vi.unstubAllGlobals());

const renderPage = () => renderAt(<DashboardPage />);

const card = (label: string) => screen.getByRole("region", { name: label });

describe("DashboardPage", () => {
  it("shows the stat cards, the slowest workflows and the charts", async () => {
    renderPage();
    expect(screen.getByRole("heading", { name: "Dashboard", level: 1 })).toBeInTheDocument();
    expect(await within(await screen.findByRole("region", { name: "Executions" })).findByText("11")).toBeInTheDocument();
    expect(card("Success rate")).toHaveTextContent("75.0%");
    expect(card("Run time")).toHaveTextContent("p50 400 ms · p95 3.00 s");
    expect(card("AI cost")).toHaveTextContent("$0.75");
    expect(card("AI cost")).toHaveTextContent("2 calls · 2,200 tokens");

    // Slowest first, named from GET /api/workflows, linking to the studio.
    const links = within(screen.getByRole("table")).getAllByRole("link");
    expect(links.map((l) => [l.textContent, l.getAttribute("href")])).toEqual([
      ["Service reminder", "/workflows/wf-slow"],
      ["Lead intake", "/workflows/wf-fast"],
    ]);
    expect(screen.getByTestId("executions-chart")).toBeInTheDocument();
    expect(await screen.findByTestId("ai-cost-chart")).toBeInTheDocument();
    expect(socket.path).toBe("/ws/metrics?interval=10");
    const first = urls().find((u) => u.startsWith("/api/metrics/summary"))!;
    expect(new URL(first, "http://x").searchParams.get("bucket")).toBe("hour");
  });

  it("takes the live summary from the socket for the last 24 hours", async () => {
    renderPage();
    await within(await screen.findByRole("region", { name: "Executions" })).findByText("11");
    act(() => socket.push?.({ type: "metrics", at: "2026-03-02T00:00:10Z", summary: summary({ total: 42, success_rate: 0.5 }) }));
    expect(card("Executions")).toHaveTextContent("42");
    expect(card("Success rate")).toHaveTextContent("50.0%");
    act(() => socket.push?.({ type: "error", message: "database is down" }));
    expect(screen.getByRole("alert")).toHaveTextContent("database is down");
  });

  it("asks day buckets over HTTP for longer ranges and closes the socket", async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("region", { name: "Executions" });
    await user.selectOptions(screen.getByLabelText("Time range"), "Last 7 days");
    await vi.waitFor(() => expect(urls().some((u) => u.includes("bucket=day"))).toBe(true));
    expect(socket.path).toBeNull();
    const q = new URL(urls().find((u) => u.includes("bucket=day"))!, "http://x").searchParams;
    const days = (Date.parse(q.get("until")!) - Date.parse(q.get("since")!)) / 86_400_000;
    expect(days).toBe(7);
  });

  it("explains how to get the first run in a new organization", async () => {
    answers = { summary: emptySummary, workflows: [] };
    renderPage();
    expect(await screen.findByText(/Your dashboard fills in once a workflow runs/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Browse templates" })).toHaveAttribute("href", "/templates");
    expect(screen.getByRole("link", { name: "Create a workflow" })).toHaveAttribute("href", "/workflows");
    expect(screen.queryByRole("table")).not.toBeInTheDocument();
    expect(screen.queryByTestId("executions-chart")).not.toBeInTheDocument();
  });

  it("says when a range has no runs but workflows exist", async () => {
    answers = { ...answers, summary: emptySummary };
    renderPage();
    expect(await screen.findByText("No runs in the last 24 hours")).toBeInTheDocument();
    expect(card("Success rate")).toHaveTextContent("No run has finished yet");
    expect(screen.queryByTestId("executions-chart")).not.toBeInTheDocument();
  });

  it("shows an API error in place", async () => {
    const failed = reply(500, { error: { code: "INTERNAL", message: "The server failed" } });
    mockFetch({ "GET /api/metrics/summary": failed, "GET /api/workflows": failed, "GET /api/ai/usage": failed });
    renderPage();
    const title = await screen.findByText("The dashboard's numbers could not be loaded");
    expect(title.closest("[role=alert]")).toHaveTextContent("The server failed");
    expect(screen.queryByRole("region", { name: "Executions" })).not.toBeInTheDocument();
  });
});
