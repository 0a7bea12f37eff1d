// One execution: its summary, the workflow's graph (of the version it ran) coloured by step
// status, a timeline of every step attempt, each step's data and errors, and the controls
// (cancel, retry, approve or reject a waiting approval). While it runs, the execution's socket
// updates the statuses at once and the records are re-read shortly after.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, ApiError } from "../../api/client";
import { useNodeTypes } from "../../api/catalog";
import { useSocket, type SocketState } from "../../api/socket";
import type { Definition, Execution, StepLog, Workflow } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Button, Card, Dialog, EmptyState, ErrorBox, PageHeader, Spinner, StatusBadge, formatDuration, formatTime, Table } from "../../components/ui";
import { GraphView } from "../../graph/GraphView";
import { ApprovalPanel } from "./ApprovalPanel";
import { Gantt } from "./Gantt";
import { DialogActions } from "../../components/actions";
import { JsonBlock } from "../../components/json";
import { DryRunBadge, isFinal, RunTime, runTime, toMs, useNow } from "./shared";

interface LogsAnswer {
  items: StepLog[];
  dry_run?: boolean;
}

interface VersionAnswer {
  workflow_id: string;
  version: number;
  definition: Definition;
}

type StepFrame = {
  type: "step";
  node_id: string;
  node_type?: string;
  status: string;
  attempt: number;
  duration_ms?: number | null;
  error?: string | null;
  at?: string;
};
type ExecutionFrame = { type: "execution"; status: string; error?: string | null; duration_ms?: number | null; at?: string };
type Frame = StepFrame | ExecutionFrame | { type: string };

interface LiveStep {
  status: string;
  attempt: number;
  nodeType?: string;
  receivedAt: number;
}

/** `enrich[2]` (a loop body's step for item 2) → `enrich`, the node of the definition. */
export function baseNode(stepId: string): string {
  return stepId.replace(/\[\d+\]$/, "");
}

const severity = ["failed", "running", "waiting", "pending", "cancelled", "completed", "skipped"];

/** Statuses by graph node: a loop body's items are merged (any failed → failed, any running →
 * running, …, all skipped → skipped). */
export function graphStatusesOf(statuses: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [step, status] of Object.entries(statuses)) {
    const node = baseNode(step);
    if (step === node) {
      out[node] = status;
      continue;
    }
    if (node in statuses) continue;
    const cur = out[node];
    const rank = (s: string) => (severity.indexOf(s) === -1 ? severity.length : severity.indexOf(s));
    if (cur === undefined || rank(status) < rank(cur)) out[node] = status;
  }
  return out;
}

const isFinalStep = (status: string) => ["completed", "failed", "skipped", "cancelled"].includes(status);

export const executionKey = (id: string) => ["executions", "detail", id] as const;

/** The latest attempt of each node, in the order the nodes first started. */
export function latestSteps(logs: StepLog[]): StepLog[] {
  const latest = new Map<string, StepLog>();
  for (const s of logs) {
    const cur = latest.get(s.node_id);
    if (!cur || s.attempt >= cur.attempt) latest.set(s.node_id, s);
  }
  return [...latest.values()];
}

export default function ExecutionPage() {
  const { id = "" } = useParams();
  return <ExecutionView key={id} id={id} />;
}

function ExecutionView({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const auth = useAuth();
  const canEdit = auth.can("editor");

  const execution = useQuery({
    queryKey: executionKey(id),
    queryFn: ({ signal }) => api<Execution>(`/api/executions/${id}`, { signal }),
    // A safety net behind the socket while the run goes on.
    refetchInterval: (q) => (q.state.data && !isFinal(q.state.data.status) ? 10_000 : false),
  });
  const logs = useQuery({
    queryKey: [...executionKey(id), "logs"],
    queryFn: ({ signal }) => api<LogsAnswer>(`/api/executions/${id}/logs`, { signal }),
    refetchInterval: () => (execution.data && !isFinal(execution.data.status) ? 10_000 : false),
  });
  const wfId = execution.data?.workflow_id;
  const wfVersion = execution.data?.workflow_version;
  const version = useQuery({
    queryKey: ["workflows", wfId, "versions", wfVersion],
    queryFn: ({ signal }) => api<VersionAnswer>(`/api/workflows/${wfId}/versions/${wfVersion}`, { signal }),
    enabled: !!wfId && wfVersion !== undefined,
    staleTime: Infinity,
    retry: false,
  });
  const workflow = useQuery({
    queryKey: ["workflows", wfId],
    queryFn: ({ signal }) => api<Workflow>(`/api/workflows/${wfId}`, { signal }),
    enabled: !!wfId,
    retry: false,
  });
  // The graph waits for the node catalog: without it a node's ports (a loop's `item`/`done`)
  // are unknown and its edges cannot be drawn.
  const catalog = useNodeTypes();
  const definition: Definition | undefined = version.data?.definition ?? (version.isError ? workflow.data?.definition : undefined);
  const workflowDeleted = workflow.error instanceof ApiError && workflow.error.status === 404;

  // Live frames, kept until a read of the records made after them arrives.
  const [liveSteps, setLiveSteps] = useState<Record<string, LiveStep>>({});
  const [liveExec, setLiveExec] = useState<{ status: string; receivedAt: number } | null>(null);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(refetchTimer.current), []);
  const refreshSoon = useCallback(() => {
    clearTimeout(refetchTimer.current);
    refetchTimer.current = setTimeout(() => {
      void queryClient.invalidateQueries({ queryKey: executionKey(id) });
      void queryClient.invalidateQueries({ queryKey: ["executions", "list"] });
    }, 300);
  }, [queryClient, id]);

  const execStatus =
    liveExec && liveExec.receivedAt > execution.dataUpdatedAt ? liveExec.status : execution.data?.status;
  const final = isFinal(execStatus);

  // Open while the run goes on; once it is final, kept until the server closes it (so a
  // socket still connecting is not cut short).
  const [socketState, setSocketState] = useState<SocketState>("closed");
  const wantSocket = !!execution.data && (!final || socketState === "open" || socketState === "connecting");
  const liveState = useSocket<Frame>(wantSocket ? `/ws/executions/${id}` : null, (frame) => {
    const receivedAt = Date.now();
    if (frame.type === "step") {
      const f = frame as StepFrame;
      setLiveSteps((prev) => {
        const cur = prev[f.node_id];
        if (cur && cur.attempt > f.attempt) return prev;
        return { ...prev, [f.node_id]: { status: f.status, attempt: f.attempt, nodeType: f.node_type, receivedAt } };
      });
      refreshSoon();
    } else if (frame.type === "execution") {
      setLiveExec({ status: (frame as ExecutionFrame).status, receivedAt });
      refreshSoon();
    } else if (frame.type === "lagged") {
      refreshSoon();
    }
  });
  useEffect(() => setSocketState(wantSocket ? liveState : "closed"), [wantSocket, liveState]);

  const now = useNow(!final);
  const logItems = useMemo(() => logs.data?.items ?? [], [logs.data]);
  const latest = useMemo(() => latestSteps(logItems), [logItems]);

  /** Node id → the step's current status: the record's, or a newer live frame's. */
  const statuses = useMemo(() => {
    const out: Record<string, string> = {};
    for (const s of latest) out[s.node_id] = s.status;
    for (const [node, live] of Object.entries(liveSteps)) {
      const rec = latest.find((s) => s.node_id === node);
      if (live.receivedAt > logs.dataUpdatedAt || !rec || live.attempt > rec.attempt) out[node] = live.status;
    }
    // A cancel stops the steps in flight, though their records still say running or waiting.
    if (execStatus === "cancelled") {
      for (const [node, status] of Object.entries(out)) if (!isFinalStep(status)) out[node] = "cancelled";
    }
    return out;
  }, [latest, liveSteps, logs.dataUpdatedAt, execStatus]);

  // Keep the object stable unless a status really changes.
  // On the graph, a loop body's node shows the state of its items taken together.
  const merged = graphStatusesOf(statuses);
  const statusKey = JSON.stringify(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
  const graphStatuses = useMemo(() => merged, [statusKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const nodeTypes = useMemo(() => {
    const out = new Map<string, string>();
    for (const n of definition?.nodes ?? []) out.set(n.id, n.type);
    for (const s of latest) out.set(s.node_id, s.node_type);
    for (const [node, live] of Object.entries(liveSteps)) if (live.nodeType && !out.has(node)) out.set(node, live.nodeType);
    return out;
  }, [definition, latest, liveSteps]);

  // Steps that ran (in the order they started), then the definition's nodes that did not.
  const stepRows = useMemo(() => {
    const ran = [...latest].sort((a, b) => (toMs(a.started_at) ?? Infinity) - (toMs(b.started_at) ?? Infinity));
    const seen = new Set(ran.map((s) => s.node_id));
    const liveOnly = Object.keys(liveSteps).filter((n) => !seen.has(n));
    liveOnly.forEach((n) => seen.add(n));
    const bases = new Set([...seen].map(baseNode));
    const notRun = (definition?.nodes ?? []).map((n) => n.id).filter((n) => !bases.has(n));
    return { ran, liveOnly, notRun };
  }, [latest, liveSteps, definition]);

  const waitingApprovals = final
    ? []
    : Object.entries(statuses)
    .filter(([node, status]) => status === "waiting" && nodeTypes.get(node) === "flow.approval")
    .map(([node]) => node);

  const [selected, setSelected] = useState<string | null>(null);
  /** A graph node is a step, or for a loop body the steps of its items: show the first. */
  const selectFromGraph = (node: string) => {
    if (statuses[node] !== undefined || !definition) return setSelected(node);
    const item = stepRows.ran.find((s) => baseNode(s.node_id) === node) ?? null;
    setSelected(item ? item.node_id : node);
  };
  const shown =
    selected ??
    waitingApprovals[0] ??
    stepRows.ran.find((s) => statuses[s.node_id] === "failed")?.node_id ??
    null;

  const [confirmCancel, setConfirmCancel] = useState(false);
  const cancel = useMutation({
    mutationFn: () => api<Execution>(`/api/executions/${id}/cancel`, { method: "POST" }),
    onSuccess: (answer) => {
      if (answer && typeof answer === "object" && "status" in answer) queryClient.setQueryData(executionKey(id), answer);
      void queryClient.invalidateQueries({ queryKey: executionKey(id) });
      void queryClient.invalidateQueries({ queryKey: ["executions", "list"] });
      setConfirmCancel(false);
    },
  });
  const retry = useMutation({
    mutationFn: () => api<Execution>(`/api/executions/${id}/retry`, { method: "POST" }),
    onSuccess: (answer) => {
      if (answer && typeof answer === "object" && "status" in answer) queryClient.setQueryData(executionKey(id), answer);
      setLiveExec(null);
      void queryClient.invalidateQueries({ queryKey: executionKey(id) });
      void queryClient.invalidateQueries({ queryKey: ["executions", "list"] });
    },
  });

  if (execution.isLoading) {
    return (
      <div className="p-6">
        <Spinner label="Loading the execution…" />
      </div>
    );
  }
  if (execution.error || !execution.data) {
    const notFound = execution.error instanceof ApiError && execution.error.status === 404;
    return (
      <div className="p-6">
        <PageHeader title="Execution" subtitle={<span className="font-mono">{id}</span>} />
        {notFound ? (
          <EmptyState
            title="This execution does not exist"
            action={
              <Link className="text-blue-700 hover:underline" to="/executions">
                See all executions
              </Link>
            }
          >
            It may belong to another organization, or the address is mistyped.
          </EmptyState>
        ) : (
          <ErrorBox error={execution.error} title="The execution could not be loaded" />
        )}
      </div>
    );
  }

  const ex = execution.data;
  const status = execStatus ?? ex.status;
  const duration = runTime(ex.started_at, ex.completed_at, now);
  const workflowName = workflow.data?.name;
  const canCancel = ["pending", "running", "waiting"].includes(status);
  const canRetry = status === "failed";

  return (
    <div className="space-y-4 p-6">
      <Link to="/executions" className="text-sm text-blue-700 hover:underline">
        ← All executions
      </Link>
      <PageHeader
        title="Execution"
        subtitle={<span className="font-mono text-xs">{ex.id}</span>}
        actions={
          canEdit && (
            <>
              {canCancel && (
                <Button variant="danger" onClick={() => setConfirmCancel(true)}>
                  Cancel
                </Button>
              )}
              {canRetry && (
                <Button onClick={() => retry.mutate()} disabled={retry.isPending}>
                  {retry.isPending ? "Retrying…" : "Retry"}
                </Button>
              )}
            </>
          )
        }
      />

      <ErrorBox error={retry.error} title="The execution could not be retried" />
      {retry.isSuccess && !retry.isPending && (
        <p role="status" className="rounded-md border border-blue-200 bg-blue-50 px-3 py-2 text-sm text-blue-800">
          Retry started: the execution runs again from its failed steps (now {retry.data?.status ?? "pending"}).
        </p>
      )}
      {cancel.isSuccess && (
        <p role="status" className="rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-700">
          The execution was cancelled.
        </p>
      )}

      <section aria-label="Summary" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <dl className="grid grid-cols-1 gap-x-6 gap-y-3 text-sm sm:grid-cols-2 lg:grid-cols-4">
          <div>
            <dt className="text-xs text-slate-500">Workflow</dt>
            <dd>
              {workflowDeleted ? (
                <span className="text-slate-500">Deleted workflow</span>
              ) : (
                <Link className="font-medium text-blue-700 hover:underline" to={`/workflows/${ex.workflow_id}`}>
                  {workflowName ?? "Open the workflow"}
                </Link>
              )}
              <span className="ml-1 text-xs text-slate-500">version {ex.workflow_version}</span>
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Status</dt>
            <dd className="flex items-center gap-2">
              <StatusBadge status={status} />
              {ex.dry_run && <DryRunBadge />}
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Duration</dt>
            <dd>
              <RunTime ms={duration} ongoing={!final} />
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Request id</dt>
            <dd className="truncate font-mono text-xs" title={ex.request_id ?? undefined}>
              {ex.request_id ?? "—"}
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Queued</dt>
            <dd>{formatTime(ex.created_at)}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Started</dt>
            <dd>{formatTime(ex.started_at)}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Finished</dt>
            <dd>{formatTime(ex.completed_at)}</dd>
          </div>
        </dl>
        {ex.dry_run && (
          <p className="mt-3 rounded-md border border-violet-200 bg-violet-50 px-3 py-2 text-sm text-violet-900">
            This was a dry run: steps that send messages or change other systems only recorded what they would have
            done, and approvals were taken as approved.
          </p>
        )}
        {ex.error_message && (
          <div className="mt-3 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            <span className="font-semibold">Error: </span>
            {ex.error_message}
          </div>
        )}
      </section>

      {waitingApprovals.length > 0 && (
        <Card title="Waiting for a decision">
          <div className="space-y-4">
            {waitingApprovals.map((node) => (
              <ApprovalPanel
                key={node}
                executionId={id}
                nodeId={node}
                step={latest.find((s) => s.node_id === node)}
                canDecide={canEdit}
                onDecided={refreshSoon}
              />
            ))}
          </div>
        </Card>
      )}

      <Card title="Graph">
        {definition && !catalog.isLoading ? (
          <>
            <GraphView definition={definition} statuses={graphStatuses} onNodeClick={selectFromGraph} className="h-80" />
            <p className="mt-1 text-xs text-slate-500">Click a node to see its step below.</p>
          </>
        ) : version.isError && workflowDeleted ? (
          <p className="text-sm text-slate-500">The workflow was deleted, so its graph cannot be shown. The steps below are still recorded.</p>
        ) : version.isError && workflow.isError ? (
          <ErrorBox error={workflow.error} title="The workflow's graph could not be loaded" />
        ) : (
          <Spinner label="Loading the graph…" />
        )}
      </Card>

      <Card title="Timeline">
        {logs.isLoading ? (
          <Spinner label="Loading the steps…" />
        ) : (
          <Gantt
            steps={
              status === "cancelled"
                ? logItems.map((s) => (isFinalStep(s.status) ? s : { ...s, status: "cancelled" }))
                : logItems
            }
            spanStart={toMs(ex.started_at)}
            spanEnd={toMs(ex.completed_at)}
            now={now}
            final={final}
            selected={shown}
            onSelect={setSelected}
          />
        )}
      </Card>

      <Card title="Steps">
        <ErrorBox error={logs.error} title="The steps could not be loaded" />
        {logs.isLoading ? (
          <Spinner label="Loading the steps…" />
        ) : stepRows.ran.length + stepRows.liveOnly.length + stepRows.notRun.length === 0 ? (
          <p className="text-sm text-slate-500">No step has run yet.</p>
        ) : (
          <div className="grid gap-4 lg:grid-cols-2">
            <div className="overflow-x-auto">
              <Table
                head="ruled"
                pad="tight"
                thClassName="font-medium"
                bodyClassName="divide-y divide-slate-100"
                columns={["Node", "Type", "Status", "Attempt", "Duration"]}
              >
                {stepRows.ran.map((s) => (
                  <StepRow
                    key={s.node_id}
                    nodeId={s.node_id}
                    type={s.node_type}
                    status={statuses[s.node_id] ?? s.status}
                    attempt={Math.max(s.attempt, liveSteps[s.node_id]?.attempt ?? 0)}
                    durationMs={s.completed_at ? (s.duration_ms ?? runTime(s.started_at, s.completed_at)) : final ? null : runTime(s.started_at, null, now)}
                    ongoing={!s.completed_at && !final}
                    selected={shown === s.node_id}
                    onSelect={setSelected}
                  />
                ))}
                {stepRows.liveOnly.map((n) => (
                  <StepRow
                    key={n}
                    nodeId={n}
                    type={nodeTypes.get(n) ?? ""}
                    status={statuses[n]}
                    attempt={liveSteps[n].attempt}
                    durationMs={null}
                    selected={shown === n}
                    onSelect={setSelected}
                  />
                ))}
                {stepRows.notRun.map((n) => (
                  <StepRow key={n} nodeId={n} type={nodeTypes.get(n) ?? ""} notRun={final ? "not run" : "not yet"} selected={shown === n} onSelect={setSelected} />
                ))}
              </Table>
            </div>
            <StepDetail
              nodeId={shown}
              type={shown ? nodeTypes.get(shown) : undefined}
              attempts={logItems.filter((s) => s.node_id === shown)}
              now={now}
            />
          </div>
        )}
      </Card>

      <Card title="Input and output">
        <div className="grid items-start gap-3 lg:grid-cols-2">
          <JsonBlock label="Input" value={ex.input_data} />
          <JsonBlock label="Output" value={ex.output_data} />
        </div>
      </Card>

      {confirmCancel && (
        <Dialog title="Cancel this run?" onClose={() => setConfirmCancel(false)}>
          <p className="text-sm text-slate-700">
            Steps in progress stop and the rest do not run. Whatever the finished steps already did (messages sent,
            records changed) stays done.
          </p>
          <ErrorBox error={cancel.error} title="The execution could not be cancelled" />
          <DialogActions
            className="mt-4"
            label="Cancel the run"
            pendingLabel="Cancelling…"
            pending={cancel.isPending}
            variant="danger"
            cancelLabel="Keep running"
            onCancel={() => setConfirmCancel(false)}
            onAction={() => cancel.mutate()}
          />
        </Dialog>
      )}
    </div>
  );
}

function StepRow({
  nodeId,
  type,
  status,
  attempt,
  durationMs,
  ongoing = false,
  notRun = "not run",
  selected,
  onSelect,
}: {
  nodeId: string;
  type: string;
  status?: string;
  attempt?: number;
  durationMs?: number | null;
  ongoing?: boolean;
  notRun?: string;
  selected: boolean;
  onSelect: (node: string) => void;
}) {
  return (
    <tr className={selected ? "bg-blue-50" : "hover:bg-slate-50"}>
      <td className="py-1.5 pr-3">
        <button
          type="button"
          className="font-mono text-sm text-blue-700 hover:underline"
          onClick={() => onSelect(nodeId)}
          aria-pressed={selected}
          title={`Show step ${nodeId}`}
        >
          {nodeId}
        </button>
      </td>
      <td className="py-1.5 pr-3 font-mono text-xs text-slate-600">{type}</td>
      <td className="py-1.5 pr-3">{status ? <StatusBadge status={status} /> : <span className="text-xs text-slate-400">{notRun}</span>}</td>
      <td className="py-1.5 pr-3 text-slate-600">{attempt ?? "—"}</td>
      <td className="py-1.5 text-slate-600">
        {status ? <RunTime ms={durationMs} ongoing={!!ongoing} /> : "—"}
      </td>
    </tr>
  );
}

function StepDetail({ nodeId, type, attempts, now }: { nodeId: string | null; type?: string; attempts: StepLog[]; now: number }) {
  if (!nodeId) {
    return (
      <div className="rounded-md border border-dashed border-slate-300 p-4 text-sm text-slate-500">
        Choose a step (in the list, the timeline or the graph) to see its input, output and errors.
      </div>
    );
  }
  const ordered = [...attempts].sort((a, b) => b.attempt - a.attempt);
  return (
    <section aria-label={`Step ${nodeId}`} className="space-y-3">
      <p className="text-sm">
        <span className="font-mono font-semibold">{nodeId}</span>
        {type && <span className="ml-2 font-mono text-xs text-slate-500">{type}</span>}
        <span className="ml-2 text-xs text-slate-500">
          {ordered.length === 0 ? "did not run" : ordered.length === 1 ? "1 attempt" : `${ordered.length} attempts`}
        </span>
      </p>
      {ordered.map((s, i) => (
        <details key={`${s.attempt}-${i}`} open={i === 0} className="rounded-md border border-slate-200">
          <summary className="flex cursor-pointer select-none flex-wrap items-center gap-2 px-3 py-2 text-sm">
            <span className="font-medium">Attempt {s.attempt}</span>
            <StatusBadge status={s.status} />
            <span className="text-xs text-slate-500">
              {formatTime(s.started_at)} · {formatDuration(s.completed_at ? (s.duration_ms ?? runTime(s.started_at, s.completed_at)) : runTime(s.started_at, null, now))}
              {typeof s.output_port === "string" && s.output_port && ` · port ${s.output_port}`}
            </span>
          </summary>
          <div className="space-y-2 border-t border-slate-200 p-3">
            {s.error_message && (
              <div className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                <span className="font-semibold">Error: </span>
                {s.error_message}
              </div>
            )}
            <JsonBlock label="Input" value={s.input_data} />
            <JsonBlock label="Output" value={s.output_data} />
          </div>
        </details>
      ))}
    </section>
  );
}
