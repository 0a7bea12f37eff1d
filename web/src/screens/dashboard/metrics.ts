// The metrics summary (GET /api/metrics/summary, WS /ws/metrics; docs/api.md "Metrics
// summary") and AI usage by day (GET /api/ai/usage), shaped for the dashboard's cards, charts
// and table. Pure functions, tested on their own.
import type { AiUsage } from "../../api/types";

export const STATUSES = ["completed", "failed", "cancelled", "running", "waiting", "pending"] as const;
export type SummaryStatus = (typeof STATUSES)[number];

export type ByStatus = Record<SummaryStatus, number>;

export interface Durations {
  p50: number | null;
  p95: number | null;
}

export interface SeriesPoint extends ByStatus {
  at: string;
  total: number;
}

export interface WorkflowSummary {
  workflow_id: string;
  name: string;
  total: number;
  by_status: ByStatus;
  success_rate: number | null;
  duration_ms: Durations;
}

export interface MetricsSummary {
  since: string;
  until: string;
  workflow_id: string | null;
  bucket: "hour" | "day";
  total: number;
  by_status: ByStatus;
  success_rate: number | null;
  duration_ms: Durations;
  workflows: WorkflowSummary[];
  series: SeriesPoint[];
  ai: { cost_usd: number; input_tokens: number; output_tokens: number; calls: number };
}

export interface MetricsMessage {
  type: "metrics" | "error";
  at?: string;
  summary?: MetricsSummary;
  message?: string;
}

export type RangeKey = "24h" | "7d" | "30d";

export const RANGES: { key: RangeKey; label: string; hours: number; bucket: "hour" | "day" }[] = [
  { key: "24h", label: "Last 24 hours", hours: 24, bucket: "hour" },
  { key: "7d", label: "Last 7 days", hours: 24 * 7, bucket: "day" },
  { key: "30d", label: "Last 30 days", hours: 24 * 30, bucket: "day" },
];

/** The query of GET /api/metrics/summary for a range ending `now`. */
export function rangeQuery(key: RangeKey, now: Date = new Date()): { since: string; until: string; bucket: "hour" | "day" } {
  const r = RANGES.find((x) => x.key === key) ?? RANGES[0];
  return {
    since: new Date(now.getTime() - r.hours * 3_600_000).toISOString(),
    until: now.toISOString(),
    bucket: r.bucket,
  };
}

export interface ChartRow extends ByStatus {
  at: string;
  label: string;
  total: number;
}

/** A bucket's start as the axis shows it: the local hour ("14:00") or the day ("Dec 3"). */
export function bucketLabel(at: string, bucket: "hour" | "day"): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return at;
  if (bucket === "hour") return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  // Day buckets are UTC calendar days: name the UTC date, whatever the viewer's zone.
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

/** The series → one chart row per bucket, every status a number (missing ones 0). */
export function seriesToRows(summary: Pick<MetricsSummary, "series" | "bucket">): ChartRow[] {
  return summary.series.map((p) => {
    const row = { at: p.at, label: bucketLabel(p.at, summary.bucket), total: p.total ?? 0 } as ChartRow;
    for (const s of STATUSES) row[s] = Number(p[s] ?? 0);
    return row;
  });
}

/** Whether the range saw no execution at all (the dashboard then explains how to get one). */
export function isEmpty(summary: Pick<MetricsSummary, "total"> | undefined): boolean {
  return !summary || summary.total === 0;
}

/** Workflows by p95 run time, slowest first; those without a finished run last. */
export function slowestWorkflows(workflows: WorkflowSummary[], limit = 8): WorkflowSummary[] {
  return [...workflows]
    .filter((w) => w.duration_ms?.p95 !== null && w.duration_ms?.p95 !== undefined)
    .sort((a, b) => (b.duration_ms.p95 ?? 0) - (a.duration_ms.p95 ?? 0) || a.name.localeCompare(b.name))
    .slice(0, limit);
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export interface CostRow {
  day: string;
  label: string;
  cost: number;
  calls: number;
  tokens: number;
}

/** AI usage by day → one row per UTC day from `since` to `until`, days without calls at 0. */
export function aiCostRows(usage: Pick<AiUsage, "items">, since: string, until: string): CostRow[] {
  const byDay = new Map(usage.items.map((i) => [i.key, i]));
  const rows: CostRow[] = [];
  const start = new Date(since);
  const end = new Date(until);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) return rows;
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  while (day.getTime() < end.getTime() && rows.length < 400) {
    const key = utcDay(day);
    const item = byDay.get(key);
    rows.push({
      day: key,
      label: bucketLabel(`${key}T00:00:00Z`, "day"),
      cost: item?.cost_usd ?? 0,
      calls: item?.calls ?? 0,
      tokens: (item?.input_tokens ?? 0) + (item?.output_tokens ?? 0),
    });
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return rows;
}

export function formatRate(r: number | null | undefined): string {
  if (r === null || r === undefined) return "—";
  const pct = r * 100;
  return `${pct === 100 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

export function formatCount(n: number): string {
  return n.toLocaleString();
}
