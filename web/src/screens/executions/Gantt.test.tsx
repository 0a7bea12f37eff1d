import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { StepLog } from "../../api/types";
import { Gantt, MIN_WIDTH, ganttRows } from "./Gantt";

const T0 = Date.parse("2026-12-03T08:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function step(node_id: string, attempt: number, status: string, start: number, end: number | null, duration_ms?: number): StepLog {
  return {
    node_id,
    node_type: "flow.noop",
    status,
    attempt,
    started_at: at(start),
    completed_at: end === null ? null : at(end),
    duration_ms: duration_ms ?? (end === null ? 0 : end - start),
  };
}

describe("ganttRows", () => {
  it("places each attempt's bar by its start and end on the execution's span", () => {
    const steps = [
      step("start", 1, "completed", 0, 100),
      step("fetch", 1, "failed", 200, 400),
      step("fetch", 2, "completed", 500, 1000),
    ];
    const { rows, span } = ganttRows(steps, { spanStart: T0, spanEnd: T0 + 1000, now: T0 + 5000, final: true });
    expect(span).toEqual({ start: T0, end: T0 + 1000 });
    expect(rows.map((r) => [r.key, r.left, r.width, r.durationMs])).toEqual([
      ["start#1", 0, 10, 100],
      ["fetch#1", 20, 20, 200],
      ["fetch#2", 50, 50, 500],
    ]);
  });

  it("runs a step that has not ended to now while the execution goes on, and the span with it", () => {
    const steps = [step("start", 1, "completed", 0, 250), step("approve", 1, "waiting", 250, null)];
    const { rows, span } = ganttRows(steps, { spanStart: T0, spanEnd: null, now: T0 + 1000, final: false });
    expect(span.end).toBe(T0 + 1000);
    expect(rows[1]).toMatchObject({ key: "approve#1", left: 25, width: 75, durationMs: 750, open: true });
  });

  it("gives an instant step a visible width and skips steps that never started", () => {
    const steps = [step("a", 1, "completed", 0, 0), { ...step("b", 1, "pending", 0, null), started_at: null }];
    const { rows } = ganttRows(steps, { spanStart: T0, spanEnd: T0 + 2000, now: T0 + 2000, final: true });
    expect(rows).toHaveLength(1);
    expect(rows[0].width).toBe(MIN_WIDTH);
  });

  it("widens the span to hold a step recorded outside the execution's times", () => {
    const steps = [step("late", 1, "completed", 1000, 2000)];
    const { rows, span } = ganttRows(steps, { spanStart: T0, spanEnd: T0 + 1000, now: T0, final: true });
    expect(span.end).toBe(T0 + 2000);
    expect(rows[0]).toMatchObject({ left: 50, width: 50 });
  });
});

describe("Gantt", () => {
  it("draws the bars with their geometry, colour by status and duration labels", () => {
    const onSelect = vi.fn();
    render(
      <Gantt
        steps={[step("start", 1, "completed", 0, 100), step("boom", 1, "failed", 100, 400, 300), step("boom", 2, "running", 500, null)]}
        spanStart={T0}
        spanEnd={null}
        now={T0 + 1000}
        final={false}
        onSelect={onSelect}
      />,
    );
    const bar = screen.getByTestId("bar-boom#1");
    expect(bar.style.left).toBe("10%");
    expect(bar.style.width).toBe("30%");
    expect(bar).toHaveClass("bg-red-500");
    const running = screen.getByTestId("bar-boom#2");
    expect(running.style.left).toBe("50%");
    expect(running.style.width).toBe("50%");
    expect(running).toHaveClass("bg-blue-500");
    expect(screen.getByText("300 ms")).toBeInTheDocument();
    expect(screen.getByText("500 ms so far")).toBeInTheDocument();
    expect(screen.getByText("attempt 2", { exact: false })).toBeInTheDocument();
    fireEvent.click(bar);
    expect(onSelect).toHaveBeenCalledWith("boom");
  });

  it("says so when no step started", () => {
    render(<Gantt steps={[]} now={T0} final={false} />);
    expect(screen.getByText("No step has started yet.")).toBeInTheDocument();
  });
});
