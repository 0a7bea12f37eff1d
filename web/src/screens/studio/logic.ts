// The studio's pure logic: node ids, default configs, the schema → form mapping, editing the
// definition (add, connect, rename, delete, copy/paste) and the undo history. No React here, so
// every rule is tested without a canvas.
import { edgePort, layout, portsOf } from "../../graph/convert";
import type { Definition, EdgeDef, JsonSchema, NodeDef, NodeType } from "../../api/types";

export const NODE_ID_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** The id a new node of `type` would like: `http.request` → `http_request`. */
export function baseIdFor(type: string): string {
  let base = type.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/_+/g, "_").replace(/^_+|_+$/g, "");
  if (!base) base = "node";
  if (!/^[A-Za-z_]/.test(base)) base = "_" + base;
  return base.slice(0, 56);
}

/** The first free id from `base`: `base`, then `base_2`, `base_3`, … */
export function uniqueId(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base}_${i}`;
    if (!used.has(id)) return id;
  }
}

export function nextNodeId(type: string, taken: Iterable<string>): string {
  return uniqueId(baseIdFor(type), taken);
}

function schemaTypes(s: JsonSchema): string[] {
  if (Array.isArray(s.type)) return s.type;
  return s.type ? [s.type] : [];
}

function containsExpression(v: unknown): boolean {
  return JSON.stringify(v ?? null).includes("{{");
}

function emptyOf(s: JsonSchema): unknown {
  const t = schemaTypes(s)[0];
  if (t === "object") return {};
  if (t === "array") return [];
  if (t === "string") return "";
  return undefined;
}

/** A new node's config: the schema's `default`s, and for each required field without one the
 * type's first example's value (when it reads no run data, which a fresh node has none of) or
 * an empty value of its type. */
export function defaultConfig(nt: NodeType | undefined): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (!nt) return config;
  const props = nt.config_schema?.properties ?? {};
  const example = (nt.examples?.[0] as { config?: Record<string, unknown> } | undefined)?.config ?? {};
  for (const [name, s] of Object.entries(props)) {
    if (s.default !== undefined) config[name] = s.default;
  }
  for (const name of nt.config_schema?.required ?? []) {
    if (config[name] !== undefined) continue;
    const s = props[name] ?? {};
    const ex = example[name];
    if (ex !== undefined && !containsExpression(ex)) config[name] = structuredClone(ex);
    else {
      const empty = emptyOf(s);
      config[name] = empty !== undefined ? empty : "";
    }
  }
  return config;
}

export type FieldKind = "text" | "textarea" | "code" | "number" | "integer" | "boolean" | "enum" | "json" | "any";

export interface FormField {
  name: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  defaultValue?: unknown;
  example?: unknown;
  schema: JsonSchema;
}

const LONG_TEXT = /body|text|message|template|prompt|instructions|html|description|content|sql|query|system/i;

/** How each property of a config schema is edited. */
export function fieldKind(name: string, s: JsonSchema, codeFields: string[] = []): FieldKind {
  if (codeFields.includes(name)) return "code";
  if (Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every((v) => typeof v === "string")) return "enum";
  const types = schemaTypes(s).filter((t) => t !== "null");
  if (types.length === 1) {
    const t = types[0];
    if (t === "string") {
      const long = (typeof s.maxLength === "number" && s.maxLength > 200) || s.format === "multiline" || LONG_TEXT.test(name);
      return long ? "textarea" : "text";
    }
    if (t === "integer") return "integer";
    if (t === "number") return "number";
    if (t === "boolean") return "boolean";
  }
  // "Any JSON" (a condition, a value, a body) mostly holds an expression or text: typed as text,
  // read as JSON when it is JSON.
  if (types.length === 0 && !s.anyOf && !s.oneOf && !s.properties && !s.items && !s.enum) return "any";
  // Objects, arrays and unions are edited as JSON.
  return "json";
}

export function formFields(nt: NodeType | undefined): FormField[] {
  if (!nt) return [];
  const schema = nt.config_schema ?? {};
  const required = new Set(schema.required ?? []);
  const example = (nt.examples?.[0] as { config?: Record<string, unknown> } | undefined)?.config ?? {};
  const fields = Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    kind: fieldKind(name, s, nt.code_fields ?? []),
    required: required.has(name),
    description: s.description,
    options: Array.isArray(s.enum) ? s.enum.map(String) : undefined,
    defaultValue: s.default,
    example: example[name],
    schema: s,
  }));
  // Required fields first, then in the schema's order.
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** The text a JSON field shows for a value: always JSON, so what is typed back parses to the
 * same value. Unset shows as empty. */
export function jsonText(value: unknown): string {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}

/** Parses a JSON field's text: empty is "unset"; otherwise JSON, or an error message. */
export function parseJsonField(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${(e as Error).message}. Text needs "quotes"; objects look like {"name": "value"}.` };
  }
}

/** An "any JSON" field's text: a string as it is, anything else as JSON. */
export function anyText(value: unknown): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** An "any JSON" field's value: JSON when the text is a JSON object, array, number, boolean,
 * null or quoted string; otherwise the text itself (an expression, a word). */
export function parseAnyField(text: string): unknown {
  if (text.trim() === "") return undefined;
  const t = text.trim();
  if (/^[[{"]/.test(t) || /^-?\d/.test(t) || t === "true" || t === "false" || t === "null") {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

// ---- editing the definition ----

/** The definition as the canvas edits it: `edges` (the `connections` alias read as such), lists
 * present, and every node with a position (the automatic layout for those without one). */
export function withPositions(raw: Definition): Definition {
  const { connections, ...rest } = raw as Definition & { connections?: EdgeDef[] };
  const def: Definition = {
    ...rest,
    nodes: Array.isArray(raw.nodes) ? raw.nodes : [],
    edges: Array.isArray(raw.edges) ? raw.edges : Array.isArray(connections) ? connections : [],
  };
  const auto = layout(def);
  return {
    ...def,
    nodes: def.nodes.map((n) => (n.position ? n : { ...n, position: auto.get(n.id) ?? { x: 0, y: 0 } })),
  };
}

export function addNode(def: Definition, type: string, nt: NodeType | undefined, position: { x: number; y: number }): { definition: Definition; id: string } {
  const id = nextNodeId(type, def.nodes.map((n) => n.id));
  const node: NodeDef = { id, type, config: defaultConfig(nt), position: { x: Math.round(position.x), y: Math.round(position.y) } };
  return { definition: { ...def, nodes: [...def.nodes, node] }, id };
}

function portsById(def: Definition, catalog: Map<string, NodeType>): Map<string, string[]> {
  return new Map(def.nodes.map((n) => [n.id, portsOf(n, catalog.get(n.type))]));
}

/** The port an edge leaves from, as the canvas names it. */
export function portOfEdge(def: Definition, e: EdgeDef, catalog: Map<string, NodeType>): string {
  const from = def.nodes.find((n) => n.id === e.from);
  return from ? edgePort(e, portsOf(from, catalog.get(from.type))) : (e.output ?? "main");
}

/** Connects `from`'s `port` to `to`: one edge per (source, port, target); no self-loops. */
export function connect(def: Definition, from: string, port: string | null | undefined, to: string, catalog: Map<string, NodeType>): Definition {
  if (from === to) return def;
  const ports = portsById(def, catalog).get(from) ?? ["main"];
  const p = port ?? ports[0] ?? "main";
  if (def.edges.some((e) => e.from === from && e.to === to && portOfEdge(def, e, catalog) === p)) return def;
  const edge: EdgeDef = { from, to };
  if (!(p === "main" && ports.length === 1 && ports[0] === "main")) edge.output = p;
  return { ...def, edges: [...def.edges, edge] };
}

/** Renames a node and the edges that name it. Answers an error message when the id is not usable. */
export function renameNode(def: Definition, oldId: string, newId: string): { definition: Definition } | { error: string } {
  if (newId === oldId) return { definition: def };
  if (!NODE_ID_RE.test(newId)) return { error: "An ID starts with a letter or _, then letters, digits, _ or - (at most 64)." };
  if (def.nodes.some((n) => n.id === newId)) return { error: `Another node already has the ID ${newId}.` };
  return {
    definition: {
      ...def,
      nodes: def.nodes.map((n) => (n.id === oldId ? { ...n, id: newId } : n)),
      edges: def.edges.map((e) => ({ ...e, from: e.from === oldId ? newId : e.from, to: e.to === oldId ? newId : e.to })),
    },
  };
}

export function updateNode(def: Definition, id: string, patch: (n: NodeDef) => NodeDef): Definition {
  return { ...def, nodes: def.nodes.map((n) => (n.id === id ? patch(n) : n)) };
}

/** Removes nodes (with their edges) and edges (by index). */
export function removeElements(def: Definition, nodeIds: Iterable<string>, edgeIndexes: Iterable<number> = []): Definition {
  const ids = new Set(nodeIds);
  const idx = new Set(edgeIndexes);
  return {
    ...def,
    nodes: def.nodes.filter((n) => !ids.has(n.id)),
    edges: def.edges.filter((e, i) => !idx.has(i) && !ids.has(e.from) && !ids.has(e.to)),
  };
}

export interface Clipboard {
  nodes: NodeDef[];
  edges: EdgeDef[];
}

/** The selected nodes and the edges between them. */
export function copyNodes(def: Definition, ids: Iterable<string>): Clipboard {
  const set = new Set(ids);
  return {
    nodes: structuredClone(def.nodes.filter((n) => set.has(n.id))),
    edges: structuredClone(def.edges.filter((e) => set.has(e.from) && set.has(e.to))),
  };
}

/** Pastes a copy with fresh ids, moved by `offset`; answers the new ids. */
export function pasteNodes(def: Definition, clip: Clipboard, offset = 40): { definition: Definition; ids: string[] } {
  const taken = new Set(def.nodes.map((n) => n.id));
  const rename = new Map<string, string>();
  const nodes: NodeDef[] = clip.nodes.map((n) => {
    const base = n.id.replace(/_\d+$/, "") || baseIdFor(n.type);
    const id = uniqueId(base, taken);
    taken.add(id);
    rename.set(n.id, id);
    const pos = n.position ?? { x: 0, y: 0 };
    return { ...structuredClone(n), id, position: { x: pos.x + offset, y: pos.y + offset } };
  });
  const edges = clip.edges
    .filter((e) => rename.has(e.from) && rename.has(e.to))
    .map((e) => ({ ...e, from: rename.get(e.from)!, to: rename.get(e.to)! }));
  return { definition: { ...def, nodes: [...def.nodes, ...nodes], edges: [...def.edges, ...edges] }, ids: nodes.map((n) => n.id) };
}

// ---- undo history ----

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
}

export const HISTORY_LIMIT = 100;

export function historyOf<T>(present: T): History<T> {
  return { past: [], present, future: [] };
}

/** A new state after an edit: the present goes onto the undo stack, redo is forgotten. */
export function pushHistory<T>(h: History<T>, next: T, limit = HISTORY_LIMIT): History<T> {
  if (Object.is(next, h.present)) return h;
  const past = [...h.past, h.present];
  return { past: past.length > limit ? past.slice(past.length - limit) : past, present: next, future: [] };
}

/** Changes the present without an undo step (a node moving while dragged). */
export function replacePresent<T>(h: History<T>, next: T): History<T> {
  return { ...h, present: next };
}

export function undo<T>(h: History<T>): History<T> {
  if (h.past.length === 0) return h;
  return { past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future] };
}

export function redo<T>(h: History<T>): History<T> {
  if (h.future.length === 0) return h;
  return { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) };
}

// ---- validation problems ----

/** Server problem paths may be rooted at the body (`definition.nodes[1]…`); the canvas pins
 * them by the definition's own paths. */
export function normalizeProblems(problems: { path: string; issue: string }[]): { path: string; issue: string }[] {
  return problems.map((p) => ({ ...p, path: p.path.replace(/^definition\./, "") }));
}

/** A stable text for comparing definitions (unsaved changes). */
export function definitionKey(def: Definition): string {
  return JSON.stringify(def);
}

export const EXPRESSION_HINT =
  'Text fields can use expressions: {{ $json.field }} for this step\'s input, {{ $trigger.body }} for the trigger\'s data, {{ $node["id"].field }} for an earlier step\'s output, {{ $vars.name }} for workflow variables, {{ $now }} for the current time.';
