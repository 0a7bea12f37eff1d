// Between a workflow definition (the JSON the engine runs) and the canvas's nodes and edges.
// Everything the canvas does not draw (retry, timeouts, extra fields) survives the round trip.
import type { Edge, Node } from "@xyflow/react";
import type { Definition, EdgeDef, NodeDef, NodeType } from "../api/types";

export interface NodeData extends Record<string, unknown> {
  def: NodeDef;
  /** The node's type in the catalog, when the server knows it. */
  nodeType?: NodeType;
  /** Step status while a run is shown on the graph. */
  status?: string;
  /** Problems found by validation, pinned to this node. */
  problems?: string[];
}

export type FlowNode = Node<NodeData, "workflow">;

/** The output ports a node offers: its type's, or for `logic.switch`-like types its config's;
 * plus `error` when the node routes its errors. */
export function portsOf(def: NodeDef, type?: NodeType): string[] {
  let ports: string[];
  if (type?.dynamic_outputs) {
    const cfg = (def.config ?? {}) as { cases?: { output?: unknown }[]; default_output?: unknown };
    const cases = Array.isArray(cfg.cases) ? cfg.cases.map((c) => c?.output).filter((o): o is string => typeof o === "string" && o !== "") : [];
    const fallback = typeof cfg.default_output === "string" && cfg.default_output ? cfg.default_output : "default";
    ports = [...new Set([...cases, fallback])];
  } else {
    ports = type?.outputs?.length ? [...type.outputs] : ["main"];
  }
  if (def.on_error === "route" && !ports.includes("error")) ports.push("error");
  return ports;
}

/** The port an edge leaves from: its `output`, or the node's only/first port. */
export function edgePort(edge: EdgeDef, ports: string[]): string {
  return edge.output ?? ports[0] ?? "main";
}

/** Positions for nodes that have none: columns by distance from the trigger, rows in order. */
export function layout(def: Definition): Map<string, { x: number; y: number }> {
  const incoming = new Map<string, number>();
  def.nodes.forEach((n) => incoming.set(n.id, 0));
  def.edges.forEach((e) => incoming.set(e.to, (incoming.get(e.to) ?? 0) + 1));
  const depth = new Map<string, number>();
  const queue = def.nodes.filter((n) => (incoming.get(n.id) ?? 0) === 0).map((n) => n.id);
  queue.forEach((id) => depth.set(id, 0));
  // Longest path from a root, bounded so a cycle (which validation reports) cannot loop forever.
  for (let guard = 0; queue.length && guard < def.nodes.length * def.edges.length + def.nodes.length + 1; guard++) {
    const id = queue.shift()!;
    for (const e of def.edges) {
      if (e.from !== id) continue;
      const d = (depth.get(id) ?? 0) + 1;
      if (d > (depth.get(e.to) ?? -1) && d <= def.nodes.length) {
        depth.set(e.to, d);
        queue.push(e.to);
      }
    }
  }
  const rows = new Map<number, number>();
  const out = new Map<string, { x: number; y: number }>();
  for (const n of def.nodes) {
    const col = depth.get(n.id) ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    out.set(n.id, { x: 40 + col * 260, y: 40 + row * 120 });
  }
  return out;
}

export function toFlow(def: Definition, catalog: Map<string, NodeType>): { nodes: FlowNode[]; edges: Edge[] } {
  const auto = layout(def);
  const nodes: FlowNode[] = def.nodes.map((n) => ({
    id: n.id,
    type: "workflow",
    position: n.position ?? auto.get(n.id) ?? { x: 0, y: 0 },
    data: { def: n, nodeType: catalog.get(n.type) },
  }));
  const byId = new Map(def.nodes.map((n) => [n.id, n]));
  const edges: Edge[] = def.edges.map((e) => {
    const from = byId.get(e.from);
    const port = from ? edgePort(e, portsOf(from, catalog.get(from.type))) : (e.output ?? "main");
    return {
      id: edgeId(e.from, port, e.to),
      source: e.from,
      sourceHandle: port,
      target: e.to,
    };
  });
  return { nodes, edges };
}

export function edgeId(from: string, port: string, to: string): string {
  return `${from}:${port}->${to}`;
}

/** The definition the canvas shows, keeping the base definition's other top-level fields. */
export function fromFlow(nodes: FlowNode[], edges: Edge[], base?: Definition): Definition {
  const catalogPorts = new Map(nodes.map((n) => [n.id, portsOf(n.data.def, n.data.nodeType)]));
  return {
    ...(base ?? {}),
    nodes: nodes.map((n) => ({
      ...n.data.def,
      id: n.id,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
    })),
    edges: edges.map((e) => {
      const ports = catalogPorts.get(e.source) ?? [];
      const port = e.sourceHandle ?? ports[0];
      // A single-port node's edge needs no `output`.
      const edge: EdgeDef = { from: e.source, to: e.target };
      if (port && !(ports.length === 1 && ports[0] === port && port === "main")) edge.output = port;
      return edge;
    }),
  };
}

/** Pins validation problems (`nodes[3].config.url`) to node ids; the rest stay general. */
export function problemsByNode(def: Definition, problems: { path: string; issue: string }[]) {
  const pinned = new Map<string, string[]>();
  const general: { path: string; issue: string }[] = [];
  for (const p of problems) {
    const m = /^nodes\[(\d+)\](?:\.(.*))?$/.exec(p.path);
    const node = m ? def.nodes[Number(m[1])] : undefined;
    if (node) {
      const list = pinned.get(node.id) ?? [];
      list.push(m![2] ? `${m![2]}: ${p.issue}` : p.issue);
      pinned.set(node.id, list);
    } else {
      general.push(p);
    }
  }
  return { pinned, general };
}
