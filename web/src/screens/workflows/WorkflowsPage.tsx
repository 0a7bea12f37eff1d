// The workflows of the organization: search, whether each is active, its last run, and the way
// into the studio; creating a new one and deleting one.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api } from "../../api/client";
import type { Definition, Execution, Page, Workflow } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { DialogActions } from "../../components/actions";
import { Button, buttonClass, Dialog, EmptyState, ErrorBox, PageHeader, SelectField, Spinner, StatusBadge, TextField, formatTime } from "../../components/ui";

/** The smallest valid workflow: one manual trigger to build on. */
export function newWorkflowDefinition(): Definition {
  return { nodes: [{ id: "start", type: "trigger.manual", name: "Start", config: {}, position: { x: 80, y: 120 } }], edges: [] };
}

export function filterWorkflows(items: Workflow[], search: string, status: string): Workflow[] {
  const q = search.trim().toLowerCase();
  return items.filter(
    (w) =>
      (status === "all" || (status === "active") === w.is_active) &&
      (!q || w.name.toLowerCase().includes(q) || (w.description ?? "").toLowerCase().includes(q)),
  );
}

function triggerOf(w: Workflow): string | undefined {
  return w.definition?.nodes?.find((n) => n.type?.startsWith("trigger."))?.type;
}

const triggerNames: Record<string, string> = {
  "trigger.manual": "Manual",
  "trigger.webhook": "Webhook",
  "trigger.schedule": "Schedule",
  "trigger.error": "On error",
};

function LastRun({ workflowId }: { workflowId: string }) {
  const last = useQuery({
    queryKey: ["workflow-last-run", workflowId],
    queryFn: () => api<Page<Execution>>(`/api/workflows/${workflowId}/executions`, { query: { limit: 1 } }),
    staleTime: 15_000,
  });
  if (last.isLoading) return <span className="text-xs text-slate-400">…</span>;
  if (last.error) return <span className="text-xs text-red-700">could not load</span>;
  const e = last.data?.items[0];
  if (!e) return <span className="text-xs text-slate-500">Never run</span>;
  return (
    <Link to={`/executions/${e.id}`} className="inline-flex items-center gap-2 hover:underline" title="Open this execution">
      <StatusBadge status={e.status} />
      <span className="text-xs text-slate-600">{formatTime(e.created_at)}</span>
    </Link>
  );
}

function CreateDialog({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: () =>
      api<Workflow>("/api/workflows", { body: { name: name.trim(), description: description.trim(), definition: newWorkflowDefinition() } }),
    onSuccess: (w) => {
      void queryClient.invalidateQueries({ queryKey: ["workflows"] });
      navigate(`/workflows/${w.id}`);
    },
  });
  return (
    <Dialog title="New workflow" onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) create.mutate();
        }}
      >
        <TextField label="Name" value={name} required autoFocus placeholder="e.g. Text new web leads" onChange={(e) => setName(e.target.value)} />
        <TextField label="Description" value={description} placeholder="Optional: what it is for" onChange={(e) => setDescription(e.target.value)} />
        <p className="text-xs text-slate-500">
          It starts with a manual trigger; you add the steps in the studio. To start from a ready-made dealership workflow instead, pick one of the{" "}
          <Link to="/templates" className="text-blue-700 hover:underline">
            templates
          </Link>
          .
        </p>
        <ErrorBox error={create.error} title="The workflow was not created" />
        <DialogActions label="Create" pendingLabel="Creating…" pending={create.isPending} disabled={!name.trim()} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

function DeleteDialog({ workflow, onClose }: { workflow: Workflow; onClose: () => void }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api(`/api/workflows/${workflow.id}`, { method: "DELETE" }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["workflows"] });
      onClose();
    },
  });
  return (
    <Dialog title="Delete workflow?" onClose={onClose}>
      <p className="text-sm text-slate-700">
        <strong>{workflow.name}</strong> will be deleted with all its versions and its run history. Its webhook and schedule stop. This cannot be undone.
      </p>
      <ErrorBox error={remove.error} title="The workflow was not deleted" />
      <DialogActions
        className="mt-4"
        variant="danger"
        label="Delete"
        pendingLabel="Deleting…"
        pending={remove.isPending}
        onCancel={onClose}
        onAction={() => remove.mutate()}
      />
    </Dialog>
  );
}

export default function WorkflowsPage() {
  const auth = useAuth();
  const editor = auth.can("editor");
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("all");
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Workflow | null>(null);

  const list = useInfiniteQuery({
    queryKey: ["workflows", "list"],
    queryFn: ({ pageParam }) => api<Page<Workflow>>("/api/workflows", { query: { limit: 100, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const all = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const shown = useMemo(() => filterWorkflows(all, search, status), [all, search, status]);

  return (
    <div className="p-6">
      <PageHeader
        title="Workflows"
        subtitle="What runs automatically for your dealership: each workflow starts from a trigger (a web form, a schedule, a button) and runs its steps."
        actions={editor && <Button onClick={() => setCreating(true)}>New workflow</Button>}
      />
      {list.isLoading ? (
        <Spinner label="Loading workflows…" />
      ) : list.error ? (
        <ErrorBox error={list.error} title="The workflows could not be loaded" />
      ) : all.length === 0 ? (
        <EmptyState
          title="No workflows yet"
          action={
            <div className="flex justify-center gap-2">
              <Link to="/templates" className={buttonClass("secondary")}>
                Browse templates
              </Link>
            </div>
          }
        >
          {editor
            ? "Click “New workflow” to build one step by step on the canvas, or start from a ready-made dealership template (lead follow-up, service reminders, …) and adjust it."
            : "Nobody in your organization has created a workflow yet. Someone with the editor role can create one or start from a template."}
        </EmptyState>
      ) : (
        <>
          <div className="mb-3 flex flex-wrap items-end gap-3">
            <div className="w-72">
              <TextField label="Search workflows" type="search" value={search} placeholder="Name or description" onChange={(e) => setSearch(e.target.value)} />
            </div>
            <div className="w-40">
              <SelectField label="Status" value={status} onChange={(e) => setStatus(e.target.value)}>
                <option value="all">All</option>
                <option value="active">Active</option>
                <option value="inactive">Inactive</option>
              </SelectField>
            </div>
            <p className="pb-1.5 text-sm text-slate-500">
              {shown.length === all.length ? `${all.length} workflow${all.length === 1 ? "" : "s"}` : `${shown.length} of ${all.length}`}
            </p>
          </div>
          {shown.length === 0 ? (
            <EmptyState title="No workflow matches">Try another word, or set the status filter to “All”.</EmptyState>
          ) : (
            <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
              <table className="w-full text-left text-sm">
                <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                  <tr>
                    <th className="px-4 py-2 font-medium">Name</th>
                    <th className="px-4 py-2 font-medium">Trigger</th>
                    <th className="px-4 py-2 font-medium">Status</th>
                    <th className="px-4 py-2 font-medium">Last run</th>
                    <th className="px-4 py-2 font-medium">Updated</th>
                    <th className="px-4 py-2">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {shown.map((w) => {
                    const trigger = triggerOf(w);
                    return (
                      <tr key={w.id} className="hover:bg-slate-50">
                        <td className="px-4 py-2.5">
                          <Link to={`/workflows/${w.id}`} className="font-medium text-blue-700 hover:underline">
                            {w.name}
                          </Link>
                          {w.description && <p className="max-w-md truncate text-xs text-slate-500">{w.description}</p>}
                        </td>
                        <td className="px-4 py-2.5 text-slate-600">{trigger ? (triggerNames[trigger] ?? trigger) : "—"}</td>
                        <td className="px-4 py-2.5">
                          <StatusBadge status={w.is_active ? "active" : "inactive"} />
                        </td>
                        <td className="px-4 py-2.5">
                          <LastRun workflowId={w.id} />
                        </td>
                        <td className="px-4 py-2.5 text-xs text-slate-600">
                          {formatTime(w.updated_at)}
                          <span className="block text-slate-400">version {w.version}</span>
                        </td>
                        <td className="px-4 py-2.5 text-right">
                          <div className="flex justify-end gap-1">
                            <Link to={`/workflows/${w.id}`} className="rounded-md px-2 py-1 text-sm text-blue-700 hover:bg-blue-50">
                              {editor ? "Edit" : "View"}
                            </Link>
                            {editor && (
                              <Button variant="ghost" className="!text-red-700" aria-label={`Delete ${w.name}`} onClick={() => setDeleting(w)}>
                                Delete
                              </Button>
                            )}
                          </div>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          {list.hasNextPage && (
            <div className="mt-3 text-center">
              <Button variant="secondary" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
                {list.isFetchingNextPage ? "Loading…" : "Load more"}
              </Button>
            </div>
          )}
        </>
      )}
      {creating && <CreateDialog onClose={() => setCreating(false)} />}
      {deleting && <DeleteDialog workflow={deleting} onClose={() => setDeleting(null)} />}
    </div>
  );
}
