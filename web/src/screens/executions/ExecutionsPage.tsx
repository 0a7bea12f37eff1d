// The executions explorer: every run of the organization's workflows, newest first, filtered by
// status, workflow, run type and time (kept in the address so a filtered view can be shared),
// a page at a time. While a listed run is still going the list refreshes itself.
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router-dom";
import { api } from "../../api/client";
import type { Execution, Page } from "../../api/types";
import { Button, EmptyState, ErrorBox, PageHeader, SelectField, Spinner, StatusBadge, TextField, formatTime, Table } from "../../components/ui";
import { useWorkflowNames } from "../../api/workflows";
import { DryRunBadge, EXECUTION_STATUSES, isFinal, RunTime, runTime, useNow } from "./shared";

const PAGE_SIZE = 50;
const FILTER_KEYS = ["status", "workflow_id", "since", "until", "dry_run"] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/** `2026-12-03T08:00:00.000Z` → the `datetime-local` value in the browser's time zone. */
export function isoToLocalInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (local time) → RFC 3339 in UTC, or "" when empty or invalid. */
export function localInputToIso(value: string): string {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

export default function ExecutionsPage() {
  const [params, setParams] = useSearchParams();
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, params.get(k) ?? ""])) as Record<FilterKey, string>;
  const filtered = FILTER_KEYS.some((k) => filters[k]);
  const workflows = useWorkflowNames();

  const setFilter = (key: FilterKey, value: string) => {
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  };
  const clearFilters = () => setParams(new URLSearchParams(), { replace: true });

  const list = useInfiniteQuery({
    queryKey: ["executions", "list", filters],
    queryFn: ({ pageParam, signal }) =>
      api<Page<Execution>>("/api/executions", {
        query: { ...filters, limit: PAGE_SIZE, cursor: pageParam },
        signal,
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.items.some((e) => !isFinal(e.status))) ? 5000 : false,
  });

  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const anyLive = items.some((e) => !isFinal(e.status));
  const now = useNow(anyLive);

  return (
    <div className="p-6">
      <PageHeader
        title="Executions"
        subtitle="Every run of your workflows, newest first. Open one to see each step, its data and its timing."
      />

      <form
        role="search"
        aria-label="Filter executions"
        className="mb-4 grid grid-cols-1 gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-2 lg:grid-cols-6"
        onSubmit={(e) => e.preventDefault()}
      >
        <SelectField label="Status" value={filters.status} onChange={(e) => setFilter("status", e.target.value)}>
          <option value="">All statuses</option>
          {EXECUTION_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
        <div className="lg:col-span-2">
          <SelectField label="Workflow" value={filters.workflow_id} onChange={(e) => setFilter("workflow_id", e.target.value)}>
            <option value="">All workflows</option>
            {(workflows.data?.items ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
            {filters.workflow_id && !workflows.names.has(filters.workflow_id) && (
              <option value={filters.workflow_id}>{workflows.isLoading ? "Loading…" : "Unknown workflow"}</option>
            )}
          </SelectField>
        </div>
        <TextField
          label="From"
          type="datetime-local"
          value={isoToLocalInput(filters.since || null)}
          onChange={(e) => setFilter("since", localInputToIso(e.target.value))}
        />
        <TextField
          label="To"
          type="datetime-local"
          value={isoToLocalInput(filters.until || null)}
          onChange={(e) => setFilter("until", localInputToIso(e.target.value))}
        />
        <SelectField label="Run type" value={filters.dry_run} onChange={(e) => setFilter("dry_run", e.target.value)}>
          <option value="">All runs</option>
          <option value="false">Real runs only</option>
          <option value="true">Dry runs only</option>
        </SelectField>
        {filtered && (
          <div className="flex items-end lg:col-span-6">
            <Button variant="ghost" onClick={clearFilters}>
              Clear filters
            </Button>
          </div>
        )}
      </form>

      <ErrorBox error={workflows.error} title="The workflow names could not be loaded" />

      {list.isLoading ? (
        <Spinner label="Loading executions…" />
      ) : list.error && !list.data ? (
        <ErrorBox error={list.error} title="The executions could not be loaded" />
      ) : items.length === 0 ? (
        filtered ? (
          <EmptyState
            title="No executions match these filters"
            action={
              <Button variant="secondary" onClick={clearFilters}>
                Clear filters
              </Button>
            }
          >
            Try another status or workflow, or a wider time range.
          </EmptyState>
        ) : (
          <EmptyState
            title="No executions yet"
            action={
              <Link className="text-blue-700 hover:underline" to="/workflows">
                Go to your workflows
              </Link>
            }
          >
            A run appears here when a workflow is run from the studio, when its webhook is called or when its
            schedule fires.
          </EmptyState>
        )
      ) : (
        <>
          {list.error && <ErrorBox error={list.error} title="The list could not be refreshed" />}
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
            <Table
              head="shaded"
              pad="wide"
              thClassName="font-medium"
              bodyClassName="divide-y divide-slate-100"
              columns={["Status", "Workflow", "Started", "Duration", "Execution"]}
            >
              {items.map((e) => {
                const name = workflows.names.get(e.workflow_id);
                const ms = runTime(e.started_at, e.completed_at, now);
                return (
                  <tr key={e.id} className="hover:bg-slate-50">
                    <td className="px-4 py-2">
                      <StatusBadge status={e.status} />
                    </td>
                    <td className="px-4 py-2">
                      <Link className="font-medium text-blue-700 hover:underline" to={`/executions/${e.id}`}>
                        {name ?? (workflows.isLoading ? "…" : workflows.complete ? "Deleted workflow" : `Workflow ${e.workflow_id.slice(0, 8)}…`)}
                      </Link>
                      {e.dry_run && <DryRunBadge className="ml-2" />}
                      <span className="ml-2 text-xs text-slate-400">v{e.workflow_version}</span>
                    </td>
                    <td className="px-4 py-2 text-slate-600">{e.started_at ? formatTime(e.started_at) : `queued ${formatTime(e.created_at)}`}</td>
                    <td className="px-4 py-2 text-slate-600">
                      <RunTime ms={ms} ongoing={!isFinal(e.status)} />
                    </td>
                    <td className="px-4 py-2">
                      <Link className="font-mono text-xs text-slate-500 hover:underline" to={`/executions/${e.id}`} aria-label={`Open execution ${e.id}`}>
                        {e.id.slice(0, 8)}…
                      </Link>
                    </td>
                  </tr>
                );
              })}
            </Table>
          </div>
          <div className="mt-3 flex items-center gap-3">
            {list.hasNextPage && (
              <Button variant="secondary" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
                {list.isFetchingNextPage ? "Loading…" : "Load more"}
              </Button>
            )}
            <span className="text-xs text-slate-500">
              {items.length} shown{anyLive ? " · refreshing while runs are in progress" : ""}
            </span>
          </div>
        </>
      )}
    </div>
  );
}
