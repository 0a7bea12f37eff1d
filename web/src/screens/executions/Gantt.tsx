// The timeline of an execution: one row per step attempt, a bar from its start to its end on
// the execution's time span, coloured by status. Steps still going (running, waiting) reach to
// now. Plain divs: the geometry is computed by `ganttRows`, which the tests check.
import type { StepLog } from "../../api/types";
import { formatDuration } from "../../components/ui";
import { toMs } from "./shared";

export interface GanttRow {
  key: string;
  nodeId: string;
  attempt: number;
  status: string;
  /** Offset of the bar's start, in % of the span. */
  left: number;
  /** Width of the bar, in % of the span (at least MIN_WIDTH so an instant step shows). */
  width: number;
  durationMs: number;
  /** The step has not ended: its bar reaches to `now`. */
  open: boolean;
}

export interface GanttSpan {
  start: number;
  end: number;
}

export const MIN_WIDTH = 0.5;

/**
 * Bars for each step attempt that started. The span runs from `spanStart` (the execution's
 * start, or its first step's) to `spanEnd` (its completion; `now` while it is not final), widened
 * to hold every bar.
 */
export function ganttRows(
  steps: StepLog[],
  { spanStart, spanEnd, now, final }: { spanStart?: number | null; spanEnd?: number | null; now: number; final: boolean },
): { rows: GanttRow[]; span: GanttSpan } {
  const timed = steps
    .map((s) => {
      const start = toMs(s.started_at);
      if (start === null) return null;
      const completed = toMs(s.completed_at);
      // A step with no end in a finished execution (a waiting approval that was cancelled) ends
      // with the execution.
      const end = completed ?? (final ? (spanEnd ?? start) : now);
      return { s, start, end: Math.max(start, end), open: completed === null && !final };
    })
    .filter((x): x is NonNullable<typeof x> => x !== null)
    .sort((a, b) => a.start - b.start || a.s.attempt - b.s.attempt);

  let start = spanStart ?? (timed.length ? timed[0].start : now);
  let end = spanEnd ?? (final ? start : now);
  for (const t of timed) {
    start = Math.min(start, t.start);
    end = Math.max(end, t.end);
  }
  const total = Math.max(end - start, 1);

  const rows = timed.map(({ s, start: a, end: b, open }) => {
    const left = ((a - start) / total) * 100;
    const width = Math.max(((b - a) / total) * 100, MIN_WIDTH);
    return {
      key: `${s.node_id}#${s.attempt}`,
      nodeId: s.node_id,
      attempt: s.attempt,
      status: s.status,
      left: Math.min(left, 100 - MIN_WIDTH),
      width: Math.min(width, 100 - Math.min(left, 100 - MIN_WIDTH)),
      // From the bar's own timestamps, so the label and the bar agree.
      durationMs: b - a,
      open,
    };
  });
  return { rows, span: { start, end } };
}

const barColors: Record<string, string> = {
  completed: "bg-green-500",
  running: "bg-blue-500",
  waiting: "bg-amber-400",
  failed: "bg-red-500",
  cancelled: "bg-slate-400",
  skipped: "bg-slate-300",
  pending: "bg-slate-300",
};

/** Where a bar's duration goes: after the bar, inside it when it reaches the end, else before it. */
function labelInside(r: GanttRow): boolean {
  return r.left + r.width > 80 && r.width >= 20;
}
function labelStyle(r: GanttRow) {
  if (r.left + r.width <= 80) return { left: `${r.left + r.width}%` };
  if (labelInside(r)) return { left: `${r.left}%`, width: `${r.width}%` };
  return { right: `${100 - r.left}%` };
}

export function Gantt({
  steps,
  spanStart,
  spanEnd,
  now,
  final,
  selected,
  onSelect,
}: {
  steps: StepLog[];
  spanStart?: number | null;
  spanEnd?: number | null;
  now: number;
  final: boolean;
  selected?: string | null;
  onSelect?: (nodeId: string) => void;
}) {
  const { rows, span } = ganttRows(steps, { spanStart, spanEnd, now, final });
  if (rows.length === 0) {
    return <p className="text-sm text-slate-500">No step has started yet.</p>;
  }
  const total = span.end - span.start;
  return (
    <div className="text-xs" data-testid="gantt">
      <div className="mb-1 flex pl-40 text-slate-400" aria-hidden="true">
        <span className="flex-1">0</span>
        <span className="flex-1 text-center">{formatDuration(total / 2)}</span>
        <span className="flex-1 text-right">{formatDuration(total)}</span>
      </div>
      <ul className="space-y-1">
        {rows.map((r, i) => (
          <li key={`${r.key}-${i}`} className={`flex items-center rounded ${selected === r.nodeId ? "bg-blue-50" : ""}`}>
            <span className="w-40 shrink-0 truncate pr-2 font-mono text-slate-700" title={r.nodeId}>
              {r.nodeId}
              {r.attempt > 1 && <span className="text-slate-400"> · attempt {r.attempt}</span>}
            </span>
            <div className="relative h-5 flex-1 rounded bg-slate-100">
              {/* The bars select with the mouse; the steps list does it by keyboard. */}
              <div
                data-testid={`bar-${r.key}`}
                data-status={r.status}
                aria-hidden="true"
                title={`${r.nodeId} (attempt ${r.attempt}): ${r.status}, ${formatDuration(r.durationMs)}`}
                onClick={() => onSelect?.(r.nodeId)}
                className={`absolute inset-y-0 cursor-pointer rounded ${barColors[r.status] ?? "bg-slate-400"} ${r.open ? "animate-pulse" : ""}`}
                style={{ left: `${r.left}%`, width: `${r.width}%` }}
              />
              <span
                className={`pointer-events-none absolute inset-y-0 flex items-center whitespace-nowrap px-1 ${labelInside(r) ? "justify-end text-slate-900" : "text-slate-600"}`}
                style={labelStyle(r)}
              >
                {formatDuration(r.durationMs)}
                {r.open ? " so far" : ""}
              </span>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
