// Helpers shared by the executions list and the execution page: the final statuses, run
// times, the workflow names, a clock for live durations and the small marks both draw.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api } from "../../api/client";
import type { ExecutionStatus, Page, Workflow } from "../../api/types";
import { formatDuration } from "../../components/ui";

export const EXECUTION_STATUSES: ExecutionStatus[] = ["pending", "running", "waiting", "completed", "failed", "cancelled"];

export const FINAL_STATUSES = new Set<string>(["completed", "failed", "cancelled"]);

export function isFinal(status: string | undefined): boolean {
  return !!status && FINAL_STATUSES.has(status);
}

export function toMs(iso?: string | null): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** Run time from started to completed, or to `now` while it is still going. */
export function runTime(startedAt?: string | null, completedAt?: string | null, now: number = Date.now()): number | null {
  const start = toMs(startedAt);
  if (start === null) return null;
  const end = toMs(completedAt) ?? now;
  return Math.max(0, end - start);
}

/** Workflow names by id (GET /api/workflows, the first 200). */
export function useWorkflowNames() {
  const query = useQuery({
    queryKey: ["workflows", "names"],
    queryFn: () => api<Page<Workflow>>("/api/workflows", { query: { limit: 200 } }),
    staleTime: 60_000,
  });
  const names = new Map<string, string>((query.data?.items ?? []).map((w) => [w.id, w.name]));
  /** Whether every workflow is in `names` (a missing one was deleted). */
  const complete = !!query.data && !query.data.next_cursor;
  return { ...query, names, complete };
}

/** The current time, ticking every `intervalMs` while `active`. */
export function useNow(active: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [active, intervalMs]);
  return now;
}

/** A run time; "so far" after it while the run or step is still going. */
export function RunTime({ ms, ongoing }: { ms: number | null | undefined; ongoing: boolean }) {
  return (
    <>
      {formatDuration(ms)}
      {ongoing && ms !== null && ms !== undefined && <span className="text-slate-400"> so far</span>}
    </>
  );
}

/** The mark of a dry run (steps only recorded what they would have done). */
export function DryRunBadge({ className = "" }: { className?: string }) {
  return <span className={`${className} rounded bg-violet-100 px-1.5 py-0.5 text-xs font-medium text-violet-800`.trim()}>dry run</span>;
}
