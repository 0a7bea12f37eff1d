// Helpers shared by the executions list and the execution page: the final statuses, run
// times, a clock for live durations and the small marks both draw.
import { useEffect, useState } from "react";
import type { ExecutionStatus } from "../../api/types";
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
