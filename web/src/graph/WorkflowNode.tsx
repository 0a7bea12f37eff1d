// How a node looks on every graph (the studio's canvas, an execution's, a template's preview):
// its display name and id, its status while a run is shown, its problems, and one handle per
// input and output port.
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { portsOf, type FlowNode } from "./convert";

const categoryColors: Record<string, string> = {
  trigger: "border-l-emerald-500",
  logic: "border-l-violet-500",
  flow: "border-l-sky-500",
  transform: "border-l-amber-500",
  ai: "border-l-fuchsia-500",
  http: "border-l-blue-500",
  dealer: "border-l-rose-500",
  messaging: "border-l-teal-500",
  email: "border-l-teal-500",
  data: "border-l-orange-500",
  code: "border-l-slate-600",
};

const statusRing: Record<string, string> = {
  running: "ring-2 ring-blue-500 animate-pulse",
  completed: "ring-2 ring-green-500",
  failed: "ring-2 ring-red-500",
  waiting: "ring-2 ring-amber-500",
  skipped: "opacity-50",
  cancelled: "ring-2 ring-slate-400",
  pending: "ring-1 ring-slate-300",
};

export function WorkflowNode({ data, selected }: NodeProps<FlowNode>) {
  const { def, nodeType, status, problems } = data;
  const ports = portsOf(def, nodeType);
  const trigger = nodeType?.is_trigger ?? def.type.startsWith("trigger.");
  const border = categoryColors[nodeType?.category ?? def.type.split(".")[0]] ?? "border-l-slate-400";
  const hasProblems = (problems?.length ?? 0) > 0;
  return (
    <div
      data-testid={`node-${def.id}`}
      data-status={status ?? ""}
      className={`min-w-[170px] max-w-[220px] rounded-md border border-l-4 bg-white px-3 py-2 text-left shadow-sm ${border} ${
        selected ? "border-blue-500 shadow-md" : hasProblems ? "border-red-400" : "border-slate-200"
      } ${status ? (statusRing[status] ?? "") : ""}`}
    >
      {!trigger && <Handle type="target" position={Position.Left} id="in" className="!h-2.5 !w-2.5 !bg-slate-500" />}
      <div className="flex items-center justify-between gap-2">
        <span className="truncate text-xs font-medium uppercase tracking-wide text-slate-500">{nodeType?.display_name ?? def.type}</span>
        {status && <span className="text-[10px] font-semibold uppercase text-slate-600">{status}</span>}
      </div>
      <div className="truncate text-sm font-semibold text-slate-900">{def.name || def.id}</div>
      {def.name && def.name !== def.id && <div className="truncate font-mono text-[10px] text-slate-400">{def.id}</div>}
      {hasProblems && (
        <ul className="mt-1 space-y-0.5 text-[11px] leading-tight text-red-700" aria-label={`Problems of ${def.id}`}>
          {problems!.slice(0, 3).map((p, i) => (
            <li key={i}>{p}</li>
          ))}
          {problems!.length > 3 && <li>and {problems!.length - 3} more</li>}
        </ul>
      )}
      {ports.map((port, i) => (
        <Handle
          key={port}
          type="source"
          position={Position.Right}
          id={port}
          title={port}
          style={{ top: ports.length === 1 ? "50%" : `${((i + 1) / (ports.length + 1)) * 100}%` }}
          className={`!h-2.5 !w-2.5 ${port === "error" || port === "false" ? "!bg-red-500" : "!bg-blue-600"}`}
        />
      ))}
      {ports.length > 1 && (
        <div className="pointer-events-none absolute -right-1 top-0 flex h-full translate-x-full flex-col justify-around py-1 pl-2 text-[10px] text-slate-500">
          {ports.map((p) => (
            <span key={p}>{p}</span>
          ))}
        </div>
      )}
    </div>
  );
}

export const nodeTypes = { workflow: WorkflowNode };
