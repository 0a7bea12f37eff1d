import { describe, expect, it } from "vitest";
import type { Definition } from "../../api/types";
import {
  addNode,
  anyText,
  baseIdFor,
  connect,
  copyNodes,
  defaultConfig,
  fieldKind,
  formFields,
  historyOf,
  NODE_ID_RE,
  nextNodeId,
  normalizeProblems,
  parseAnyField,
  parseJsonField,
  pasteNodes,
  pushHistory,
  redo,
  removeElements,
  renameNode,
  replacePresent,
  undo,
  withPositions,
} from "./logic";
import { nodeType } from "../../test/nodeTypes";

const http = nodeType({
  type: "http.request",
  config_schema: {
    type: "object",
    required: ["url"],
    properties: {
      url: { type: "string", description: "Absolute URL." },
      method: { enum: ["GET", "POST"], default: "GET" },
      timeout_ms: { type: "integer", default: 30000 },
      fail_on_status: { type: "boolean", default: true },
      headers: { type: "object" },
      body: { description: "Any JSON." },
    },
  },
  examples: [{ id: "crm", type: "http.request", config: { url: "https://crm.example.com/api", method: "POST" } }],
});
const set = nodeType({
  type: "transform.set",
  config_schema: { type: "object", required: ["fields"], properties: { fields: { type: "object" }, keep_input: { type: "boolean", default: true } } },
  examples: [{ id: "hot", type: "transform.set", config: { fields: { email: "{{ $json.body.email }}" } } }],
});
const iff = nodeType({ type: "logic.if", outputs: ["true", "false"] });
const catalog = new Map([http, set, iff, nodeType({ type: "trigger.manual", is_trigger: true })].map((t) => [t.type, t]));

const base: Definition = {
  nodes: [
    { id: "start", type: "trigger.manual", position: { x: 0, y: 0 } },
    { id: "check", type: "logic.if", config: { condition: "{{ $json.ok }}" }, position: { x: 200, y: 0 } },
    { id: "call", type: "http.request", config: { url: "https://x.test" }, position: { x: 400, y: 0 } },
  ],
  edges: [
    { from: "start", to: "check" },
    { from: "check", output: "true", to: "call" },
  ],
};

describe("node ids", () => {
  it("derives ids from the type and numbers repeats", () => {
    expect(baseIdFor("http.request")).toBe("http_request");
    expect(nextNodeId("http.request", [])).toBe("http_request");
    expect(nextNodeId("http.request", ["http_request"])).toBe("http_request_2");
    expect(nextNodeId("http.request", ["http_request", "http_request_2"])).toBe("http_request_3");
  });
  it("always answers a valid id", () => {
    for (const t of ["http.request", "9lives", "...", "a".repeat(100), "dealer.vin-decode"]) {
      expect(nextNodeId(t, [])).toMatch(NODE_ID_RE);
    }
  });
});

describe("default config", () => {
  it("takes the schema's defaults and the example's required values", () => {
    expect(defaultConfig(http)).toEqual({ url: "https://crm.example.com/api", method: "GET", timeout_ms: 30000, fail_on_status: true });
  });
  it("leaves out example values that read run data (a new node has none)", () => {
    expect(defaultConfig(set)).toEqual({ fields: {}, keep_input: true });
  });
  it("addNode places a node with a fresh id and its defaults", () => {
    const r = addNode(base, "http.request", http, { x: 10.4, y: 20.6 });
    expect(r.id).toBe("http_request");
    expect(r.definition.nodes.at(-1)).toEqual({ id: "http_request", type: "http.request", config: defaultConfig(http), position: { x: 10, y: 21 } });
  });
});

describe("schema → form fields", () => {
  it("maps each property to an editor", () => {
    const fields = formFields(http);
    const kinds = Object.fromEntries(fields.map((f) => [f.name, f.kind]));
    expect(kinds).toEqual({ url: "text", method: "enum", timeout_ms: "integer", fail_on_status: "boolean", headers: "json", body: "any" });
    expect(fields[0]).toMatchObject({ name: "url", required: true, description: "Absolute URL." });
    expect(fields.find((f) => f.name === "method")?.options).toEqual(["GET", "POST"]);
  });
  it("uses a code editor for code fields and a text area for long text", () => {
    expect(fieldKind("code", { type: "string" }, ["code"])).toBe("code");
    expect(fieldKind("body", { type: "string" })).toBe("textarea");
    expect(fieldKind("to", { type: "string" })).toBe("text");
    expect(fieldKind("rate", { type: "number" })).toBe("number");
    expect(fieldKind("labels", { type: "array", items: { type: "string" } })).toBe("json");
  });
  it("parses JSON fields with a readable error", () => {
    expect(parseJsonField('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonField("")).toEqual({ ok: true, value: undefined });
    const bad = parseJsonField("{a: 1}");
    expect(bad.ok).toBe(false);
  });
  it("reads any-JSON fields as JSON when they are JSON, else as text", () => {
    expect(parseAnyField("{{ $json.score > 50 }}")).toBe("{{ $json.score > 50 }}");
    expect(parseAnyField("42")).toBe(42);
    expect(parseAnyField('{"a": true}')).toEqual({ a: true });
    expect(parseAnyField("hello")).toBe("hello");
    expect(anyText("{{ $json.x }}")).toBe("{{ $json.x }}");
    expect(anyText({ a: 1 })).toContain('"a": 1');
  });
});

describe("editing", () => {
  it("connects a port once, naming non-main ports", () => {
    const d1 = connect(base, "check", "false", "call", catalog);
    expect(d1.edges.at(-1)).toEqual({ from: "check", output: "false", to: "call" });
    expect(connect(d1, "check", "false", "call", catalog)).toBe(d1);
    expect(connect(base, "check", "true", "call", catalog)).toBe(base);
    const d2 = connect(base, "call", "main", "check", catalog);
    expect(d2.edges.at(-1)).toEqual({ from: "call", to: "check" });
    expect(connect(base, "call", "main", "call", catalog)).toBe(base);
  });
  it("renames a node and its edges, refusing bad or taken ids", () => {
    const r = renameNode(base, "check", "is_ok");
    expect("definition" in r && r.definition.edges).toEqual([
      { from: "start", to: "is_ok" },
      { from: "is_ok", output: "true", to: "call" },
    ]);
    expect(renameNode(base, "check", "call")).toEqual({ error: expect.stringContaining("already") });
    expect(renameNode(base, "check", "1bad")).toHaveProperty("error");
  });
  it("removes nodes with their edges, and edges by index", () => {
    const d = removeElements(base, ["check"]);
    expect(d.nodes.map((n) => n.id)).toEqual(["start", "call"]);
    expect(d.edges).toEqual([]);
    expect(removeElements(base, [], [1]).edges).toEqual([{ from: "start", to: "check" }]);
  });
  it("copies nodes with the edges between them and pastes them with fresh ids", () => {
    const clip = copyNodes(base, ["check", "call"]);
    expect(clip.edges).toEqual([{ from: "check", output: "true", to: "call" }]);
    const r = pasteNodes(base, clip);
    expect(r.ids).toEqual(["check_2", "call_2"]);
    expect(r.definition.nodes.find((n) => n.id === "call_2")?.position).toEqual({ x: 440, y: 40 });
    expect(r.definition.edges.at(-1)).toEqual({ from: "check_2", output: "true", to: "call_2" });
    // The copy does not share objects with the original.
    r.definition.nodes.find((n) => n.id === "call_2")!.config!.url = "changed";
    expect(base.nodes[2].config!.url).toBe("https://x.test");
    // Pasting again numbers on.
    expect(pasteNodes(r.definition, clip).ids).toEqual(["check_3", "call_3"]);
  });
  it("reads the connections alias and places nodes without a position", () => {
    const d = withPositions({ nodes: [{ id: "a", type: "trigger.manual" }, { id: "b", type: "flow.noop" }], connections: [{ from: "a", to: "b" }] } as unknown as Definition);
    expect(d.edges).toEqual([{ from: "a", to: "b" }]);
    expect("connections" in d).toBe(false);
    expect(d.nodes.every((n) => n.position)).toBe(true);
    expect(d.nodes[1].position!.x).toBeGreaterThan(d.nodes[0].position!.x);
  });
  it("pins server problems by the definition's paths", () => {
    expect(normalizeProblems([{ path: "definition.nodes[1].config", issue: "x" }])).toEqual([{ path: "nodes[1].config", issue: "x" }]);
  });
});

describe("undo history", () => {
  it("undoes and redoes, and a new edit forgets the redo", () => {
    let h = historyOf("a");
    h = pushHistory(h, "b");
    h = pushHistory(h, "c");
    h = undo(h);
    expect(h.present).toBe("b");
    h = undo(h);
    expect(h.present).toBe("a");
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe("b");
    h = pushHistory(h, "d");
    expect(h.future).toEqual([]);
    expect(redo(h)).toBe(h);
    expect(h.past).toEqual(["a", "b"]);
  });
  it("replaces the present without an undo step and keeps at most the limit", () => {
    let h = historyOf(0);
    h = replacePresent(h, 1);
    expect(h.past).toEqual([]);
    for (let i = 2; i < 10; i++) h = pushHistory(h, i, 3);
    expect(h.past).toEqual([6, 7, 8]);
  });
});
