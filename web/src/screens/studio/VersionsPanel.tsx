// A workflow's version history: every saved version with who made it and what changed, a
// readable diff against the version before, a preview, and restoring an older version.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../../api/client";
import type { Definition, Workflow } from "../../api/types";
import { DialogActions } from "../../components/actions";
import { Button, Dialog, ErrorBox, Spinner, formatTime } from "../../components/ui";
import { GraphView } from "../../graph/GraphView";
import { SidePanel } from "./SidePanel";

export interface Version {
  workflow_id: string;
  version: number;
  definition: Definition;
  created_by?: string | null;
  author?: { id: string; name: string; email: string } | null;
  summary?: string;
  restored_from?: number | null;
  created_at: string;
}

export interface VersionDiff {
  workflow_id: string;
  version: number;
  against: number | null;
  summary: string;
  nodes: { added: string[]; removed: string[]; changed: { id: string; fields: string[] }[] };
  edges: { added: EdgeRef[]; removed: EdgeRef[] };
  other: string[];
}

interface EdgeRef {
  from: string;
  output?: string | null;
  to: string;
}

function edgeText(e: EdgeRef): string {
  return `${e.from}${e.output ? ` (${e.output})` : ""} → ${e.to}`;
}

export function DiffView({ diff }: { diff: VersionDiff }) {
  const none =
    diff.nodes.added.length + diff.nodes.removed.length + diff.nodes.changed.length + diff.edges.added.length + diff.edges.removed.length + diff.other.length === 0;
  return (
    <div className="space-y-2 text-sm">
      <p className="text-slate-600">
        {diff.against === null ? `Version ${diff.version} is the first version.` : `Changes from version ${diff.against} to version ${diff.version}:`}{" "}
        <span className="font-medium">{diff.summary}</span>
      </p>
      {none && <p className="text-slate-500">No changes.</p>}
      <ul className="space-y-1">
        {diff.nodes.added.map((id) => (
          <li key={`na-${id}`} className="text-green-800">
            + node <code>{id}</code> added
          </li>
        ))}
        {diff.nodes.removed.map((id) => (
          <li key={`nr-${id}`} className="text-red-800">
            − node <code>{id}</code> removed
          </li>
        ))}
        {diff.nodes.changed.map((c) => (
          <li key={`nc-${c.id}`} className="text-amber-800">
            ~ node <code>{c.id}</code> changed: {c.fields.join(", ")}
            {c.fields.length === 1 && c.fields[0] === "position" && <span className="text-slate-500"> (moved on the canvas)</span>}
          </li>
        ))}
        {diff.edges.added.map((e, i) => (
          <li key={`ea-${i}`} className="text-green-800">
            + connection {edgeText(e)}
          </li>
        ))}
        {diff.edges.removed.map((e, i) => (
          <li key={`er-${i}`} className="text-red-800">
            − connection {edgeText(e)}
          </li>
        ))}
        {diff.other.map((o) => (
          <li key={`o-${o}`} className="text-amber-800">
            ~ {o} changed
          </li>
        ))}
      </ul>
    </div>
  );
}

function VersionDetail({ workflowId, version, current, canRestore, onRestored }: { workflowId: string; version: Version; current: number; canRestore: boolean; onRestored: (w: Workflow) => void }) {
  const [against, setAgainst] = useState<"previous" | "current">("previous");
  const vsCurrent = against === "current" && version.version !== current;
  const diff = useQuery({
    queryKey: ["workflow-version-diff", workflowId, version.version, vsCurrent ? current : "previous"],
    queryFn: () =>
      api<VersionDiff>(`/api/workflows/${workflowId}/versions/${vsCurrent ? current : version.version}/diff`, {
        query: vsCurrent ? { against: version.version } : undefined,
      }),
  });
  const [confirm, setConfirm] = useState(false);
  const restore = useMutation({
    mutationFn: () => api<Workflow>(`/api/workflows/${workflowId}/versions/${version.version}/restore`, { method: "POST" }),
    onSuccess: (w) => {
      setConfirm(false);
      onRestored(w);
    },
  });
  return (
    <div className="space-y-3 border-t border-slate-200 pt-3">
      {version.version !== current && (
        <fieldset className="flex gap-3 text-xs text-slate-700">
          <legend className="sr-only">Compare</legend>
          <label className="flex items-center gap-1">
            <input type="radio" name={`against-${version.version}`} checked={against === "previous"} onChange={() => setAgainst("previous")} />
            What this version changed
          </label>
          <label className="flex items-center gap-1">
            <input type="radio" name={`against-${version.version}`} checked={against === "current"} onChange={() => setAgainst("current")} />
            What changed since (to version {current})
          </label>
        </fieldset>
      )}
      {diff.isLoading ? <Spinner label="Comparing…" /> : diff.error ? <ErrorBox error={diff.error} /> : diff.data && <DiffView diff={diff.data} />}
      <GraphView definition={version.definition} className="h-56" />
      {canRestore && version.version !== current && (
        <Button variant="secondary" onClick={() => setConfirm(true)}>
          Restore version {version.version}
        </Button>
      )}
      {confirm && (
        <Dialog title={`Restore version ${version.version}?`} onClose={() => setConfirm(false)}>
          <p className="text-sm text-slate-700">
            The workflow will get version {version.version}'s definition as a new version. Nothing is lost: the current version stays in the history. Unsaved changes on the canvas are discarded.
          </p>
          <ErrorBox error={restore.error} />
          <DialogActions
            className="mt-4"
            label="Restore"
            pendingLabel="Restoring…"
            pending={restore.isPending}
            onCancel={() => setConfirm(false)}
            onAction={() => restore.mutate()}
          />
        </Dialog>
      )}
    </div>
  );
}

export function VersionsPanel({
  workflowId,
  current,
  canRestore,
  onRestored,
  onClose,
}: {
  workflowId: string;
  current: number;
  canRestore: boolean;
  onRestored: (w: Workflow) => void;
  onClose: () => void;
}) {
  const versions = useQuery({
    queryKey: ["workflow-versions", workflowId, current],
    queryFn: () => api<Version[] | { items: Version[] }>(`/api/workflows/${workflowId}/versions`),
  });
  const list = Array.isArray(versions.data) ? versions.data : (versions.data?.items ?? []);
  const [open, setOpen] = useState<number | null>(null);
  return (
    <SidePanel
      label="Versions"
      closeLabel="Close versions"
      onClose={onClose}
      headerClassName="items-center"
      bodyClassName="p-3"
      heading={<h2 className="font-semibold text-slate-900">Version history</h2>}
    >
      {versions.isLoading && <Spinner />}
      <ErrorBox error={versions.error} />
      <ol className="space-y-2">
        {list.map((v) => (
          <li key={v.version} className="rounded-md border border-slate-200 p-2.5">
            <button
              type="button"
              className="w-full text-left"
              aria-expanded={open === v.version}
              onClick={() => setOpen(open === v.version ? null : v.version)}
            >
              <span className="flex items-center justify-between">
                <span className="font-medium text-slate-900">
                  Version {v.version}
                  {v.version === current && <span className="ml-2 rounded bg-blue-50 px-1.5 py-0.5 text-xs text-blue-800">current</span>}
                </span>
                <span className="text-xs text-slate-500">{formatTime(v.created_at)}</span>
              </span>
              <span className="block text-sm text-slate-600">{v.summary}</span>
              <span className="block text-xs text-slate-500">by {v.author?.name ?? "a former member"}</span>
            </button>
            {open === v.version && <VersionDetail workflowId={workflowId} version={v} current={current} canRestore={canRestore} onRestored={onRestored} />}
          </li>
        ))}
      </ol>
    </SidePanel>
  );
}
