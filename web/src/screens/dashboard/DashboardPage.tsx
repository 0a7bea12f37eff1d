// The dashboard: how many runs, how many succeeded, how long they take, which workflows are
// slowest and what AI costs. The last 24 hours stay live over /ws/metrics; longer ranges come
// from GET /api/metrics/summary.
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../../api/client";
import { useSocket } from "../../api/socket";
import { useWorkflowNames } from "../../api/workflows";
import type { AiUsage } from "../../api/types";
import { formatUsd } from "../../components/format";
import { buttonClass, Card, EmptyState, ErrorBox, formatDuration, PageHeader, Spinner, Table } from "../../components/ui";
import {
  aiCostRows,
  formatCount,
  formatRate,
  isEmpty,
  RANGES,
  rangeQuery,
  seriesToRows,
  slowestWorkflows,
  STATUSES,
  type MetricsMessage,
  type MetricsSummary,
  type RangeKey,
} from "./metrics";

const STATUS_COLORS: Record<string, string> = {
  completed: "#16a34a",
  failed: "#dc2626",
  cancelled: "#94a3b8",
  running: "#2563eb",
  waiting: "#d97706",
  pending: "#cbd5e1",
};

const STATUS_LABELS: Record<string, string> = {
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  running: "Running",
  waiting: "Waiting",
  pending: "Queued",
};

const linkClass = "font-medium text-blue-700 hover:underline";

function StatCard({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <section aria-label={label} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <p className="text-sm text-slate-500">{label}</p>
      <p className="mt-1 text-2xl font-semibold text-slate-900">{value}</p>
      {hint && <p className="mt-1 text-xs text-slate-500">{hint}</p>}
    </section>
  );
}

function GettingStarted() {
  return (
    <EmptyState
      title="Welcome! Your dashboard fills in once a workflow runs"
      action={
        <div className="flex flex-wrap justify-center gap-3">
          <Link to="/templates" className={buttonClass("primary")}>
            Browse templates
          </Link>
          <Link to="/workflows" className={buttonClass("secondary")}>
            Create a workflow
          </Link>
        </div>
      }
    >
      <ol className="mt-2 list-decimal space-y-1 pl-5 text-left">
        <li>
          Start from a ready-made dealership workflow in <Link to="/templates" className={linkClass}>Templates</Link> (lead follow-up,
          service reminders, …), or build your own in <Link to="/workflows" className={linkClass}>Workflows</Link>.
        </li>
        <li>Open it in the studio and run it once with a test input, or turn it on so its trigger (a webhook or a schedule) starts it.</li>
        <li>Come back here: runs, success rate, run times and AI cost appear as soon as the first run is queued.</li>
      </ol>
    </EmptyState>
  );
}

function NoRunsInRange({ rangeLabel }: { rangeLabel: string }) {
  return (
    <EmptyState title={`No runs in the ${rangeLabel.toLowerCase()}`}>
      Workflows run when their trigger fires or when you run them from the studio. Check that your workflows are turned on in{" "}
      <Link to="/workflows" className={linkClass}>Workflows</Link>, pick a longer time range, or start something new from{" "}
      <Link to="/templates" className={linkClass}>Templates</Link>.
    </EmptyState>
  );
}

function ExecutionsChart({ summary }: { summary: MetricsSummary }) {
  const rows = useMemo(() => seriesToRows(summary), [summary]);
  return (
    <div className="h-64" data-testid="executions-chart">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={rows} margin={{ top: 8, right: 8, left: -16, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={16} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
          {STATUSES.map((s) => (
            <Bar key={s} dataKey={s} name={STATUS_LABELS[s]} stackId="runs" fill={STATUS_COLORS[s]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function AiCostChart({ range }: { range: RangeKey }) {
  const usage = useQuery({
    queryKey: ["ai-usage", "day", range],
    queryFn: () => {
      const { since, until } = rangeQuery(range);
      return api<AiUsage>("/api/ai/usage", { query: { group_by: "day", since, until } });
    },
    refetchInterval: 60_000,
  });
  const rows = useMemo(() => (usage.data ? aiCostRows(usage.data, usage.data.since, usage.data.until) : []), [usage.data]);
  if (usage.isLoading) return <Spinner label="Loading AI usage…" />;
  if (usage.error) return <ErrorBox error={usage.error} title="AI usage could not be loaded" />;
  if (!usage.data || usage.data.calls === 0) {
    return (
      <p className="py-6 text-sm text-slate-500">
        No AI calls in this period. AI steps (drafting replies, scoring leads, summaries) count here once they run.
      </p>
    );
  }
  return (
    <div className="h-56" data-testid="ai-cost-chart">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={rows} margin={{ top: 8, right: 8, left: -8, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={12} />
          <YAxis tick={{ fontSize: 11 }} tickFormatter={(v: number) => formatUsd(v)} />
          <Tooltip formatter={(v) => formatUsd(Number(v))} />
          <Bar dataKey="cost" name="AI cost (USD)" fill="#7c3aed" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function SlowestTable({ summary, names }: { summary: MetricsSummary; names: Map<string, string> }) {
  const rows = slowestWorkflows(summary.workflows);
  if (rows.length === 0) {
    return <p className="py-4 text-sm text-slate-500">No workflow has finished a run in this period yet.</p>;
  }
  return (
    <div className="overflow-x-auto">
      <Table
        thClassName="font-medium"
        bodyClassName="divide-y divide-slate-100"
        columns={["Workflow", ...["Runs", "Success rate", "Typical (p50)", "Slowest 5% (p95)"].map((label) => ({ label, className: "text-right" }))]}
      >
        {rows.map((w) => (
          <tr key={w.workflow_id}>
            <td className="py-2 pr-3">
              <Link to={`/workflows/${w.workflow_id}`} className={linkClass}>
                {names.get(w.workflow_id) ?? w.name}
              </Link>
            </td>
            <td className="py-2 pr-3 text-right tabular-nums">{formatCount(w.total)}</td>
            <td className="py-2 pr-3 text-right tabular-nums">{formatRate(w.success_rate)}</td>
            <td className="py-2 pr-3 text-right tabular-nums">{formatDuration(w.duration_ms.p50)}</td>
            <td className="py-2 text-right tabular-nums">{formatDuration(w.duration_ms.p95)}</td>
          </tr>
        ))}
      </Table>
    </div>
  );
}

export default function DashboardPage() {
  const [range, setRange] = useState<RangeKey>("24h");
  const rangeInfo = RANGES.find((r) => r.key === range) ?? RANGES[0];
  const [live, setLive] = useState<{ at?: string; summary: MetricsSummary } | null>(null);
  const [liveError, setLiveError] = useState<string | null>(null);

  const socketState = useSocket<MetricsMessage>(range === "24h" ? "/ws/metrics?interval=10" : null, (msg) => {
    if (msg.type === "metrics" && msg.summary) {
      setLive({ at: msg.at, summary: msg.summary });
      setLiveError(null);
    } else if (msg.type === "error") {
      setLiveError(msg.message ?? "The live numbers could not be computed.");
    }
  });
  const liveOpen = range === "24h" && socketState === "open";

  const http = useQuery({
    queryKey: ["metrics-summary", range],
    queryFn: () => api<MetricsSummary>("/api/metrics/summary", { query: rangeQuery(range) }),
    // The live socket refreshes the 24 hours; otherwise poll once a minute.
    refetchInterval: liveOpen ? false : 60_000,
  });
  const workflows = useWorkflowNames();
  const names = workflows.names;

  const summary = range === "24h" && live ? live.summary : http.data;
  const newOrganization = isEmpty(summary) && workflows.data !== undefined && workflows.data.items.length === 0;

  const liveBadge =
    range !== "24h" ? null : liveOpen ? (
      <span className="inline-flex items-center gap-1.5 text-xs text-green-700">
        <span className="h-2 w-2 rounded-full bg-green-600" aria-hidden="true" /> Live{live?.at ? ` · updated ${new Date(live.at).toLocaleTimeString()}` : ""}
      </span>
    ) : (
      <span className="text-xs text-slate-500">{socketState === "error" ? "Live updates reconnecting…" : "Connecting live updates…"}</span>
    );

  return (
    <div className="p-6">
      <PageHeader
        title="Dashboard"
        subtitle={<>How your workflows are doing. {liveBadge}</>}
        actions={
          <div className="flex items-center gap-2">
            <label htmlFor="dashboard-range" className="text-sm text-slate-600">
              Time range
            </label>
            <select
              id="dashboard-range"
              value={range}
              onChange={(e) => setRange(e.target.value as RangeKey)}
              className="rounded-md border border-slate-300 bg-white px-2.5 py-1.5 text-sm shadow-sm focus:border-blue-500 focus:outline-none focus:ring-1 focus:ring-blue-500"
            >
              {RANGES.map((r) => (
                <option key={r.key} value={r.key}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
        }
      />

      {!summary && http.isLoading && <Spinner label="Loading the numbers…" />}
      {!summary && <ErrorBox error={http.error} title="The dashboard's numbers could not be loaded" />}
      {summary && http.error && range !== "24h" ? <ErrorBox error={http.error} title="The numbers could not be refreshed" /> : null}
      {liveError && range === "24h" && <ErrorBox error={liveError} title="Live numbers are paused" />}
      <ErrorBox error={workflows.error} title="Workflow names could not be loaded" />

      {summary && newOrganization && <GettingStarted />}

      {summary && !newOrganization && (
        <div className="space-y-5">
          <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-4">
            <StatCard
              label="Executions"
              value={formatCount(summary.total)}
              hint={
                summary.total === 0
                  ? rangeInfo.label
                  : `${formatCount(summary.by_status.completed)} completed · ${formatCount(summary.by_status.failed)} failed · ${formatCount(
                      summary.by_status.running + summary.by_status.waiting + summary.by_status.pending,
                    )} in progress`
              }
            />
            <StatCard
              label="Success rate"
              value={formatRate(summary.success_rate)}
              hint={summary.success_rate === null ? "No run has finished yet" : "Of finished runs (completed, failed or cancelled)"}
            />
            <StatCard
              label="Run time"
              value={
                <>
                  {formatDuration(summary.duration_ms.p50)}
                  <span className="ml-1 text-sm font-normal text-slate-500">typical</span>
                </>
              }
              hint={`p50 ${formatDuration(summary.duration_ms.p50)} · p95 ${formatDuration(summary.duration_ms.p95)} (slowest 5%)`}
            />
            <StatCard
              label="AI cost"
              value={formatUsd(summary.ai.cost_usd)}
              hint={`${formatCount(summary.ai.calls)} calls · ${formatCount(summary.ai.input_tokens + summary.ai.output_tokens)} tokens`}
            />
          </div>

          {isEmpty(summary) ? (
            <NoRunsInRange rangeLabel={rangeInfo.label} />
          ) : (
            <div className="grid gap-5 xl:grid-cols-3">
              <Card title={`Executions over time (${summary.bucket === "hour" ? "by hour" : "by day"})`} className="xl:col-span-2">
                <ExecutionsChart summary={summary} />
              </Card>
              <Card title="Slowest workflows">
                <SlowestTable summary={summary} names={names} />
              </Card>
            </div>
          )}

          <Card title="AI cost over time (by UTC day)">
            <AiCostChart range={range} />
          </Card>
        </div>
      )}
    </div>
  );
}
