import { describe, expect, it } from "vitest";
import { formatUsd } from "../../components/format";
import { aiCostRows, formatRate, isEmpty, rangeQuery, seriesToRows, slowestWorkflows, type WorkflowSummary } from "./metrics";

describe("dashboard data shaping", () => {
  it("turns the series into one chart row per bucket with every status", () => {
    const rows = seriesToRows({
      bucket: "day",
      series: [
        { at: "2026-03-01T00:00:00Z", total: 3, pending: 0, running: 1, waiting: 0, completed: 1, failed: 1, cancelled: 0 },
        // a point missing a status still gives a number
        { at: "2026-03-02T00:00:00Z", total: 2, completed: 2 } as never,
      ],
    });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ at: "2026-03-01T00:00:00Z", total: 3, completed: 1, failed: 1, running: 1, cancelled: 0, waiting: 0, pending: 0 });
    expect(rows[0].label).toMatch(/Mar|3/);
    expect(rows[1]).toMatchObject({ completed: 2, failed: 0, pending: 0, total: 2 });
  });

  it("says empty when nothing ran", () => {
    expect(isEmpty(undefined)).toBe(true);
    expect(isEmpty({ total: 0 })).toBe(true);
    expect(isEmpty({ total: 1 })).toBe(false);
  });

  it("orders workflows by p95, leaving out those without a run time", () => {
    const w = (id: string, p95: number | null): WorkflowSummary => ({
      workflow_id: id,
      name: id,
      total: 1,
      by_status: { completed: 1, failed: 0, cancelled: 0, running: 0, waiting: 0, pending: 0 },
      success_rate: 1,
      duration_ms: { p50: p95, p95 },
    });
    expect(slowestWorkflows([w("a", 100), w("b", null), w("c", 3000), w("d", 500)]).map((x) => x.workflow_id)).toEqual(["c", "d", "a"]);
    expect(slowestWorkflows([w("a", 1), w("b", 2), w("c", 3)], 2).map((x) => x.workflow_id)).toEqual(["c", "b"]);
  });

  it("fills AI cost days without calls with zero", () => {
    const rows = aiCostRows(
      { items: [{ key: "2026-03-02", cost_usd: 0.5, input_tokens: 100, output_tokens: 20, calls: 2 }] },
      "2026-03-01T10:00:00Z",
      "2026-03-04T09:00:00Z",
    );
    expect(rows.map((r) => [r.day, r.cost, r.tokens])).toEqual([
      ["2026-03-01", 0, 0],
      ["2026-03-02", 0.5, 120],
      ["2026-03-03", 0, 0],
      ["2026-03-04", 0, 0],
    ]);
  });

  it("asks hour buckets for 24 hours and day buckets otherwise", () => {
    const now = new Date("2026-03-10T12:00:00Z");
    expect(rangeQuery("24h", now)).toEqual({ since: "2026-03-09T12:00:00.000Z", until: "2026-03-10T12:00:00.000Z", bucket: "hour" });
    expect(rangeQuery("7d", now)).toEqual({ since: "2026-03-03T12:00:00.000Z", until: "2026-03-10T12:00:00.000Z", bucket: "day" });
    expect(rangeQuery("30d", now).bucket).toBe("day");
  });

  it("formats rates and money", () => {
    expect(formatRate(null)).toBe("—");
    expect(formatRate(0.75)).toBe("75.0%");
    expect(formatRate(1)).toBe("100%");
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(1.234)).toBe("$1.23");
    expect(formatUsd(0.0012)).toBe("$0.0012");
  });
});
