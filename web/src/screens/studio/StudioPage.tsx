// The Workflow Studio: the canvas with its palette, the selected node's settings, live
// validation, saving (each save a version), running with a live overlay of the steps, version
// history, undo/redo and keyboard shortcuts.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  useUpdateNodeInternals,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { catalogIndex, useNodeTypes } from "../../api/catalog";
import { api, ApiError } from "../../api/client";
import { useSocket } from "../../api/socket";
import type { Definition, NodeDef, NodeType, Workflow } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Button, ErrorBox, Spinner, StatusBadge } from "../../components/ui";
import { edgeId, portsOf, problemsByNode, toFlow, type FlowNode } from "../../graph/convert";
import { CanvasChrome, canvasProps } from "../../graph/canvas";
import { ConfigPanel } from "./ConfigPanel";
import { Connections } from "./Connections";
import {
  addNode,
  connect,
  copyNodes,
  definitionKey,
  historyOf,
  normalizeProblems,
  pasteNodes,
  portOfEdge,
  pushHistory,
  redo,
  removeElements,
  renameNode,
  replacePresent,
  undo,
  updateNode,
  withPositions,
  type Clipboard,
  type History,
} from "./logic";
import { DRAG_TYPE, Palette } from "./Palette";
import { RunDialog, type Started } from "./RunDialog";
import { VersionsPanel } from "./VersionsPanel";

interface Problem {
  path: string;
  issue: string;
}

interface RunState {
  id: string;
  status: string;
  dryRun: boolean;
  statuses: Record<string, string>;
  error?: string | null;
}

const FINAL = new Set(["completed", "failed", "cancelled"]);

/** Whether the server offers live validation (POST /api/workflows/validate); learnt once per
 * page load, so a server without it is asked once. */
let liveValidation = true;

/** Copied nodes, kept across workflows for this page load (paste into another workflow works). */
const clipboard: { current: Clipboard | null } = { current: null };

/** The first place at or below `p` where a new node does not cover another. */
function freeSpot(def: Definition, p: { x: number; y: number }): { x: number; y: number } {
  const spot = { ...p };
  for (let i = 0; i < 20; i++) {
    const hit = def.nodes.some((n) => n.position && Math.abs(n.position.x - spot.x) < 200 && Math.abs(n.position.y - spot.y) < 80);
    if (!hit) break;
    spot.y += 90;
  }
  return spot;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable;
}

export default function StudioPage() {
  const { id = "" } = useParams();
  const workflow = useQuery({ queryKey: ["workflow", id], queryFn: () => api<Workflow>(`/api/workflows/${id}`) });
  const catalog = useNodeTypes();
  // Restoring a version replaces the whole editing state: a new generation remounts the studio.
  const [generation, setGeneration] = useState(0);
  if (workflow.isLoading || catalog.isLoading) return <div className="p-6"><Spinner label="Opening the workflow…" /></div>;
  if (workflow.error) {
    return (
      <div className="space-y-3 p-6">
        <ErrorBox error={workflow.error} title="The workflow could not be opened" />
        <Link to="/workflows" className="text-sm text-blue-700 hover:underline">
          Back to the workflows
        </Link>
      </div>
    );
  }
  if (!workflow.data) return null;
  return (
    <ReactFlowProvider>
      {catalog.error ? (
        <div className="p-3">
          <ErrorBox error={catalog.error} title="The node catalog could not be loaded; the palette and forms are unavailable" />
        </div>
      ) : null}
      <Studio key={`${workflow.data.id}:${generation}`} workflow={workflow.data} types={catalog.data ?? []} onReplaced={() => setGeneration((g) => g + 1)} />
    </ReactFlowProvider>
  );
}

function Studio({ workflow, types, onReplaced }: { workflow: Workflow; types: NodeType[]; onReplaced: () => void }) {
  const auth = useAuth();
  const editable = auth.can("editor");
  const queryClient = useQueryClient();
  const flowApi = useReactFlow();
  const catalog = useMemo(() => catalogIndex(types), [types]);
  const canvasRef = useRef<HTMLDivElement>(null);

  // ---- the definition and its history ----
  const [history, setHistory] = useState<History<Definition>>(() => historyOf(withPositions(workflow.definition ?? { nodes: [], edges: [] })));
  const def = history.present;
  const [saved, setSaved] = useState(() => ({
    key: definitionKey(withPositions(workflow.definition ?? { nodes: [], edges: [] })),
    name: workflow.name,
    version: workflow.version,
    isActive: workflow.is_active,
    webhookUrl: workflow.webhook_url ?? null,
    justSaved: false,
  }));
  const [name, setName] = useState(workflow.name);
  const dirty = definitionKey(def) !== saved.key || name.trim() !== saved.name;
  const lastEdit = useRef<{ key: string; at: number } | null>(null);

  /** An edit: one undo step, or part of the previous one when it continues typing in the same field. */
  const commit = useCallback((edit: (d: Definition) => Definition, coalesce?: string) => {
    const now = Date.now();
    const same = coalesce !== undefined && lastEdit.current?.key === coalesce && now - lastEdit.current.at < 1500;
    lastEdit.current = coalesce !== undefined ? { key: coalesce, at: now } : null;
    setHistory((h) => {
      const next = edit(h.present);
      if (next === h.present) return h;
      return same ? replacePresent(h, next) : pushHistory(h, next);
    });
  }, []);

  // ---- selection and measured sizes (React Flow is controlled from the definition) ----
  const [selNodes, setSelNodes] = useState<Set<string>>(new Set());
  const [selEdges, setSelEdges] = useState<Set<string>>(new Set());
  const [measured, setMeasured] = useState<Map<string, { width: number; height: number }>>(new Map());
  const dragBase = useRef<Definition | null>(null);

  // ---- problems: live validation and the answer of a save ----
  const [problems, setProblems] = useState<{ def: Definition; list: Problem[] }>({ def, list: [] });
  const validateSeq = useRef(0);
  useEffect(() => {
    if (!editable || !liveValidation) return;
    const snapshot = def;
    const seq = ++validateSeq.current;
    const timer = setTimeout(async () => {
      try {
        const res = await api<{ valid: boolean; problems?: Problem[] }>("/api/workflows/validate", { body: { definition: snapshot } });
        if (seq === validateSeq.current) setProblems({ def: snapshot, list: normalizeProblems(res?.problems ?? []) });
      } catch (e) {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) liveValidation = false;
        else if (e instanceof ApiError && e.status === 422 && seq === validateSeq.current) setProblems({ def: snapshot, list: normalizeProblems(e.details) });
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [def, editable]);
  const { pinned, general } = useMemo(() => problemsByNode(problems.def, problems.list), [problems]);
  // Problems were found for a definition whose node order may have changed since: pin by id.
  const problemCount = problems.list.length;

  // ---- a run and its live overlay ----
  const [run, setRun] = useState<RunState | null>(null);
  const runId = useRef<string | null>(null);
  runId.current = run?.id ?? null;
  const onFrame = useCallback((msg: Record<string, unknown>) => {
    setRun((r) => {
      if (!r || (msg.execution_id && msg.execution_id !== r.id)) return r;
      if (msg.type === "step" && typeof msg.node_id === "string" && typeof msg.status === "string") {
        return { ...r, statuses: { ...r.statuses, [msg.node_id]: msg.status } };
      }
      if (msg.type === "execution" && typeof msg.status === "string") {
        return { ...r, status: msg.status, error: (msg.error as string | null | undefined) ?? r.error };
      }
      return r;
    });
    if (msg.type === "lagged" && runId.current) {
      // Missed events: read the step log instead.
      const id = runId.current;
      void api<{ items: { node_id: string; status: string }[] }>(`/api/executions/${id}/logs`)
        .then((logs) => setRun((cur) => (cur && cur.id === id ? { ...cur, statuses: Object.fromEntries(logs.items.map((s) => [s.node_id, s.status])) } : cur)))
        .catch(() => undefined);
    }
  }, []);
  const socketState = useSocket(run ? `/ws/executions/${run.id}` : null, onFrame);

  // ---- the canvas's nodes and edges, derived ----
  const flow = useMemo(() => toFlow(def, catalog), [def, catalog]);
  const nodes: FlowNode[] = useMemo(
    () =>
      flow.nodes.map((n) => ({
        ...n,
        selected: selNodes.has(n.id),
        measured: measured.get(n.id),
        draggable: editable,
        connectable: editable,
        deletable: editable,
        data: { ...n.data, status: run?.statuses[n.id], problems: pinned.get(n.id) },
      })),
    [flow, selNodes, measured, editable, run?.statuses, pinned],
  );
  const edges: Edge[] = useMemo(
    () => flow.edges.map((e) => ({ ...e, selected: selEdges.has(e.id), animated: run ? run.statuses[e.source] === "completed" && !!run.statuses[e.target] : false })),
    [flow, selEdges, run],
  );

  // A node's ports can change with its config (a switch's cases, on_error: route): React Flow
  // must measure its handles again.
  const updateNodeInternals = useUpdateNodeInternals();
  const portsKey = useMemo(() => def.nodes.map((n) => `${n.id}=${portsOf(n, catalog.get(n.type)).join(",")}`).join(";"), [def, catalog]);
  const lastPorts = useRef(portsKey);
  useEffect(() => {
    if (lastPorts.current === portsKey) return;
    const before = new Map(lastPorts.current.split(";").map((p) => p.split("=") as [string, string]));
    lastPorts.current = portsKey;
    const changed = portsKey
      .split(";")
      .map((p) => p.split("=") as [string, string])
      .filter(([id, ports]) => before.has(id) && before.get(id) !== ports)
      .map(([id]) => id);
    if (changed.length) requestAnimationFrame(() => updateNodeInternals(changed));
  }, [portsKey, updateNodeInternals]);

  const onNodesChange = useCallback(
    (changes: NodeChange<FlowNode>[]) => {
      let sel: Set<string> | null = null;
      const positions = new Map<string, { x: number; y: number }>();
      let dims: Map<string, { width: number; height: number }> | null = null;
      for (const c of changes) {
        if (c.type === "select") {
          sel ??= new Set(selNodes);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        } else if (c.type === "position" && c.position && editable) {
          positions.set(c.id, c.position);
        } else if (c.type === "dimensions" && c.dimensions) {
          dims ??= new Map(measured);
          dims.set(c.id, c.dimensions);
        }
      }
      if (sel) setSelNodes(sel);
      if (dims) setMeasured(dims);
      if (positions.size) {
        setHistory((h) =>
          replacePresent(h, {
            ...h.present,
            nodes: h.present.nodes.map((n) => {
              const p = positions.get(n.id);
              return p ? { ...n, position: { x: Math.round(p.x), y: Math.round(p.y) } } : n;
            }),
          }),
        );
      }
    },
    [selNodes, measured, editable],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      let sel: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === "select") {
          sel ??= new Set(selEdges);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        }
      }
      if (sel) setSelEdges(sel);
    },
    [selEdges],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      if (!editable || !c.source || !c.target) return;
      commit((d) => connect(d, c.source, c.sourceHandle, c.target, catalog));
    },
    [editable, commit, catalog],
  );

  const onNodeDragStart = useCallback(() => {
    dragBase.current = history.present;
  }, [history.present]);
  const onNodeDragStop = useCallback(() => {
    const base = dragBase.current;
    dragBase.current = null;
    if (!base) return;
    setHistory((h) => (definitionKey(base) === definitionKey(h.present) ? h : { past: [...h.past, base].slice(-100), present: h.present, future: [] }));
    lastEdit.current = null;
  }, []);

  // ---- adding nodes ----
  const addAt = useCallback(
    (type: string, position: { x: number; y: number }) => {
      const r = addNode(def, type, catalog.get(type), position);
      commit(() => r.definition);
      setSelNodes(new Set([r.id]));
      setSelEdges(new Set());
    },
    [commit, catalog, def],
  );

  const addByClick = useCallback(
    (type: string) => {
      const rect = canvasRef.current?.getBoundingClientRect();
      const center = rect ? flowApi.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }) : { x: 100, y: 100 };
      addAt(type, freeSpot(def, { x: center.x - 85, y: center.y - 30 }));
    },
    [addAt, flowApi, def.nodes.length],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_TYPE)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
    }
  }, []);
  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(DRAG_TYPE);
      if (!type || !editable) return;
      e.preventDefault();
      const p = flowApi.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      addAt(type, freeSpot(def, { x: p.x - 85, y: p.y - 25 }));
    },
    [addAt, flowApi, editable, def],
  );

  // ---- deleting, copy and paste, undo ----
  const deleteSelection = useCallback(() => {
    if (!editable || (selNodes.size === 0 && selEdges.size === 0)) return;
    commit((d) => {
      const edgeIdx: number[] = [];
      d.edges.forEach((e, i) => {
        if (selEdges.has(edgeId(e.from, portOfEdge(d, e, catalog), e.to))) edgeIdx.push(i);
      });
      return removeElements(d, selNodes, edgeIdx);
    });
    setSelNodes(new Set());
    setSelEdges(new Set());
  }, [editable, selNodes, selEdges, commit, catalog]);

  const copy = useCallback(() => {
    if (selNodes.size === 0) return false;
    clipboard.current = copyNodes(def, selNodes);
    return true;
  }, [def, selNodes]);
  const paste = useCallback(() => {
    const clip = clipboard.current;
    if (!editable || !clip || clip.nodes.length === 0) return false;
    const r = pasteNodes(def, clip);
    commit(() => r.definition);
    // The next paste lands further along.
    clipboard.current = { nodes: clip.nodes.map((n) => ({ ...n, position: { x: (n.position?.x ?? 0) + 40, y: (n.position?.y ?? 0) + 40 } })), edges: clip.edges };
    setSelNodes(new Set(r.ids));
    setSelEdges(new Set());
    return true;
  }, [editable, commit, def]);

  const doUndo = useCallback(() => {
    lastEdit.current = null;
    setHistory((h) => undo(h));
  }, []);
  const doRedo = useCallback(() => {
    lastEdit.current = null;
    setHistory((h) => redo(h));
  }, []);

  // ---- saving ----
  const [saveError, setSaveError] = useState<unknown>(null);
  const save = useMutation({
    mutationFn: (body: { name: string; definition: Definition }) => api<Workflow>(`/api/workflows/${workflow.id}`, { method: "PUT", body }),
  });
  const doSave = useCallback(async (): Promise<boolean> => {
    if (!editable) return false;
    const body = { name: name.trim() || saved.name, definition: def };
    setSaveError(null);
    try {
      const w = await save.mutateAsync(body);
      setSaved({ key: definitionKey(body.definition), name: w.name, version: w.version, isActive: w.is_active, webhookUrl: w.webhook_url ?? null, justSaved: true });
      setName(w.name);
      setProblems({ def: body.definition, list: [] });
      queryClient.setQueryData(["workflow", workflow.id], { ...w, definition: body.definition });
      void queryClient.invalidateQueries({ queryKey: ["workflows"] });
      void queryClient.invalidateQueries({ queryKey: ["workflow-versions", workflow.id] });
      return true;
    } catch (e) {
      setSaveError(e);
      if (e instanceof ApiError && e.status === 422) setProblems({ def: body.definition, list: normalizeProblems(e.details) });
      return false;
    }
  }, [editable, name, saved.name, def, save, queryClient, workflow.id]);

  // Back where the last save left it (undo): the failed save's message and problems are moot.
  useEffect(() => {
    if (!dirty && saveError) {
      setSaveError(null);
      setProblems((p) => (p.list.length && definitionKey(p.def) !== definitionKey(def) ? { def, list: [] } : p));
    }
  }, [dirty, saveError, def]);

  const toggleActive = useMutation({
    mutationFn: (is_active: boolean) => api<Workflow>(`/api/workflows/${workflow.id}`, { method: "PUT", body: { is_active } }),
    onSuccess: (w) => {
      setSaved((s) => ({ ...s, isActive: w.is_active, webhookUrl: w.webhook_url ?? s.webhookUrl }));
      void queryClient.invalidateQueries({ queryKey: ["workflows"] });
    },
  });

  // ---- running ----
  const [runOpen, setRunOpen] = useState(false);
  const [runPrepError, setRunPrepError] = useState(false);
  const openRun = useCallback(async () => {
    setRunPrepError(false);
    if (dirty && !(await doSave())) {
      setRunPrepError(true);
      return;
    }
    setRunOpen(true);
  }, [dirty, doSave]);
  const onStarted = useCallback((s: Started) => {
    setRunOpen(false);
    setRun({ id: s.execution_id, status: s.status, dryRun: s.dry_run, statuses: {} });
  }, []);

  const [versionsOpen, setVersionsOpen] = useState(false);

  // ---- keyboard ----
  const keys = useRef({ doSave, doUndo, doRedo, deleteSelection, copy, paste, runOpen });
  keys.current = { doSave, doUndo, doRedo, deleteSelection, copy, paste, runOpen };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const k = keys.current;
      if (k.runOpen || (e.target as HTMLElement | null)?.closest?.("[role=dialog]")) return;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "s") {
        e.preventDefault();
        void k.doSave();
        return;
      }
      if (isTyping(e.target)) return;
      if (mod && key === "z" && !e.shiftKey) {
        e.preventDefault();
        k.doUndo();
      } else if (mod && ((key === "z" && e.shiftKey) || key === "y")) {
        e.preventDefault();
        k.doRedo();
      } else if (!mod && (e.key === "Delete" || e.key === "Backspace")) {
        e.preventDefault();
        k.deleteSelection();
      } else if (e.key === "Escape") {
        setSelNodes(new Set());
        setSelEdges(new Set());
      } else if (mod && key === "c") {
        if (k.copy()) e.preventDefault();
      } else if (mod && key === "v") {
        if (k.paste()) e.preventDefault();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  // ---- the selected node's panel ----
  const selectedNode: NodeDef | undefined = selNodes.size === 1 ? def.nodes.find((n) => selNodes.has(n.id)) : undefined;
  const onNodeEdit = useCallback(
    (n: NodeDef) => {
      if (!selectedNode) return;
      const oldId = selectedNode.id;
      commit((d) => updateNode(d, oldId, () => n), `node:${oldId}`);
    },
    [commit, selectedNode],
  );
  const onRename = useCallback(
    (newId: string): string | undefined => {
      if (!selectedNode) return undefined;
      const r = renameNode(def, selectedNode.id, newId);
      if ("error" in r) return r.error;
      commit(() => r.definition);
      setSelNodes(new Set([newId]));
      return undefined;
    },
    [commit, def, selectedNode],
  );

  const webhookUrl = saved.webhookUrl ? `${location.origin}${saved.webhookUrl}` : null;
  const [copied, setCopied] = useState(false);

  return (
    <div className="flex h-full min-h-0 flex-col">
      <header className="flex flex-wrap items-center gap-2 border-b border-slate-200 bg-white px-4 py-2">
        <Link to="/workflows" className="text-sm text-blue-700 hover:underline">
          ← Workflows
        </Link>
        <input
          aria-label="Workflow name"
          className="min-w-0 flex-1 rounded-md border border-transparent px-2 py-1 text-lg font-semibold text-slate-900 hover:border-slate-300 focus:border-blue-500 focus:outline-none disabled:bg-transparent sm:max-w-md"
          value={name}
          disabled={!editable}
          onChange={(e) => setName(e.target.value)}
        />
        <span className="text-sm text-slate-500" aria-live="polite">
          {dirty ? (
            <span className="text-amber-700">● Unsaved changes</span>
          ) : saved.justSaved ? (
            `Saved · version ${saved.version}`
          ) : (
            `Version ${saved.version}`
          )}
        </span>
        <label className="ml-2 flex items-center gap-1.5 text-sm text-slate-700">
          <input
            type="checkbox"
            className="h-4 w-4"
            checked={toggleActive.isPending && toggleActive.variables !== undefined ? toggleActive.variables : saved.isActive}
            disabled={!editable || toggleActive.isPending}
            onChange={(e) => toggleActive.mutate(e.target.checked)}
          />
          Active
        </label>
        <div className="ml-auto flex flex-wrap gap-2">
          {editable && (
            <>
              <Button variant="ghost" onClick={doUndo} disabled={history.past.length === 0} title="Undo (Ctrl+Z)">
                Undo
              </Button>
              <Button variant="ghost" onClick={doRedo} disabled={history.future.length === 0} title="Redo (Ctrl+Shift+Z)">
                Redo
              </Button>
            </>
          )}
          <Button variant="secondary" onClick={() => setVersionsOpen((v) => !v)} aria-pressed={versionsOpen}>
            Versions
          </Button>
          {editable && (
            <>
              <Button variant="secondary" onClick={() => void doSave()} disabled={save.isPending} title="Save (Ctrl+S)">
                {save.isPending ? "Saving…" : "Save"}
              </Button>
              <Button onClick={() => void openRun()} disabled={save.isPending}>
                Run
              </Button>
            </>
          )}
        </div>
      </header>
      {toggleActive.error ? (
        <div className="px-4 pt-2">
          <ErrorBox error={toggleActive.error} title="Could not change whether the workflow is active" />
        </div>
      ) : null}
      {saveError ? (
        <div className="px-4 pt-2">
          {saveError instanceof ApiError && saveError.status === 422 ? (
            <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
              Not saved{runPrepError ? ", so the run did not start" : ""}: {saveError.message}. The problems are marked on the nodes and listed over the canvas.
            </div>
          ) : (
            <ErrorBox error={saveError} title={runPrepError ? "Not saved, so the run did not start" : "Not saved"} />
          )}
        </div>
      ) : null}
      {!editable && (
        <p className="border-b border-slate-200 bg-slate-50 px-4 py-1.5 text-sm text-slate-600">You can look at this workflow; changing or running it needs the editor role.</p>
      )}
      {webhookUrl && (
        <div className="flex flex-wrap items-center gap-2 border-b border-slate-200 bg-emerald-50 px-4 py-1.5 text-sm">
          <span className="font-medium text-emerald-900">Webhook URL</span>
          <code className="min-w-0 truncate rounded bg-white px-1.5 py-0.5 text-xs text-slate-800">{webhookUrl}</code>
          <Button
            variant="ghost"
            className="!px-2 !py-0.5"
            onClick={() => {
              void navigator.clipboard?.writeText(webhookUrl).then(() => {
                setCopied(true);
                setTimeout(() => setCopied(false), 1500);
              });
            }}
          >
            {copied ? "Copied" : "Copy URL"}
          </Button>
          {!saved.isActive && <span className="text-amber-800">The workflow is inactive: calls are refused until it is switched on.</span>}
        </div>
      )}
      {run && (
        <div className="flex flex-wrap items-center gap-3 border-b border-slate-200 bg-blue-50 px-4 py-1.5 text-sm" role="status" aria-label="Run status">
          <span className="font-medium text-slate-800">{run.dryRun ? "Dry run" : "Run"}</span>
          <StatusBadge status={run.status} />
          {!FINAL.has(run.status) && socketState !== "open" && <span className="text-xs text-slate-500">connecting to live updates…</span>}
          {run.error && <span className="truncate text-red-800">{run.error}</span>}
          <Link to={`/executions/${run.id}`} className="text-blue-700 hover:underline">
            Open execution
          </Link>
          <Button variant="ghost" className="ml-auto !px-2 !py-0.5" onClick={() => setRun(null)}>
            Clear
          </Button>
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        {editable && <Palette types={types} onAdd={addByClick} />}
        <div className="relative min-h-0 min-w-0 flex-1 bg-slate-50" data-testid="canvas" ref={canvasRef} onDragOver={onDragOver} onDrop={onDrop}>
          <ReactFlow
            {...canvasProps}
            nodes={nodes}
            edges={edges}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onNodeDragStart={onNodeDragStart}
            onNodeDragStop={onNodeDragStop}
            isValidConnection={(c) => c.source !== c.target}
            nodesDraggable={editable}
            nodesConnectable={editable}
            deleteKeyCode={null}
            multiSelectionKeyCode={["Shift", "Meta", "Control"]}
          >
            <CanvasChrome />
            <MiniMap pannable zoomable className="!hidden md:!block" />
          </ReactFlow>
          {def.nodes.length === 0 && (
            <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
              <p className="rounded-md bg-white/90 px-4 py-3 text-sm text-slate-600 shadow-sm">
                {editable ? "Drag a trigger from the palette to start, then add the steps that follow it." : "This workflow has no nodes yet."}
              </p>
            </div>
          )}
          {problemCount > 0 && (
            <div className="absolute left-2 right-2 top-2 z-10 mx-auto max-w-2xl rounded-md border border-red-200 bg-white/95 px-3 py-2 text-sm shadow" role="region" aria-label="Problems">
              <p className="font-semibold text-red-800">
                {problemCount === 1 ? "1 problem" : `${problemCount} problems`} to fix before this workflow can run
                {pinned.size > 0 && <span className="font-normal text-red-700"> ({[...pinned.values()].reduce((a, l) => a + l.length, 0)} marked on nodes)</span>}
                {!liveValidation && problems.def !== def && <span className="font-normal text-slate-500"> · found at the last check, before your latest changes</span>}
              </p>
              {general.length > 0 && (
                <ul className="mt-1 max-h-28 list-disc overflow-auto pl-5 text-red-800">
                  {general.map((p, i) => (
                    <li key={i}>
                      {p.path && <code className="mr-1 text-xs">{p.path}</code>}
                      {p.issue}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </div>
        {versionsOpen ? (
          <VersionsPanel
            workflowId={workflow.id}
            current={saved.version}
            canRestore={editable}
            onClose={() => setVersionsOpen(false)}
            onRestored={(w) => {
              queryClient.setQueryData(["workflow", workflow.id], w);
              void queryClient.invalidateQueries({ queryKey: ["workflow-versions", workflow.id] });
              void queryClient.invalidateQueries({ queryKey: ["workflows"] });
              onReplaced();
            }}
          />
        ) : selectedNode ? (
          <ConfigPanel
            key={selectedNode.id}
            node={selectedNode}
            nodeType={catalog.get(selectedNode.type)}
            problems={pinned.get(selectedNode.id)}
            readOnly={!editable}
            onChange={onNodeEdit}
            onRename={onRename}
            onDelete={deleteSelection}
            onClose={() => setSelNodes(new Set())}
          >
            <Connections
              ports={portsOf(selectedNode, catalog.get(selectedNode.type))}
              outgoing={def.edges.filter((e) => e.from === selectedNode.id).map((e) => ({ port: portOfEdge(def, e, catalog), to: e.to }))}
              targets={def.nodes
                .filter((n) => n.id !== selectedNode.id && !(catalog.get(n.type)?.is_trigger ?? n.type.startsWith("trigger.")))
                .map((n) => ({ id: n.id, label: n.name && n.name !== n.id ? `${n.name} (${n.id})` : n.id }))}
              readOnly={!editable}
              onConnect={(port, to) => commit((d) => connect(d, selectedNode.id, port, to, catalog))}
              onDisconnect={(port, to) =>
                commit((d) => {
                  const idx = d.edges.findIndex((e) => e.from === selectedNode.id && e.to === to && portOfEdge(d, e, catalog) === port);
                  return idx === -1 ? d : removeElements(d, [], [idx]);
                })
              }
            />
          </ConfigPanel>
        ) : null}
      </div>
      {runOpen && <RunDialog workflowId={workflow.id} onClose={() => setRunOpen(false)} onStarted={onStarted} />}
    </div>
  );
}
