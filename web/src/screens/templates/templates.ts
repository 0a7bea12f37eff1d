// Template shapes (GET /api/templates, docs/templates.md) and the pure logic of the gallery and
// the instantiate dialog: grouping, search, labels, and the request body.
import { ApiError } from "../../api/client";
import type { Credential as FullCredential, Definition } from "../../api/types";

export type ParameterType = "string" | "number" | "boolean" | "email" | "url" | "phone" | "credential" | "enum";

export interface TemplateParameter {
  name: string;
  type: ParameterType | string;
  required: boolean;
  description?: string;
  example?: unknown;
  default?: unknown;
  options?: string[];
  credential_type?: string;
  /** Not in the built-in templates today; used when a template gives one. */
  label?: string;
}

export interface TemplateSummary {
  id: string;
  slug?: string | null;
  name: string;
  category: string;
  description: string;
  builtin: boolean;
  parameters: TemplateParameter[];
  /** The definition's steps (the list answers it; a card needs no definition). */
  node_count: number;
  created_at?: string;
  updated_at?: string;
}

export interface Template extends TemplateSummary {
  definition: Definition;
  sample_input?: unknown;
}

/** What the template form needs of a credential. */
export type Credential = Pick<FullCredential, "id" | "name" | "type">;

/** The categories in the order the docs list them; others (an organization's own) follow by name. */
export const CATEGORY_ORDER = ["Sales", "Service", "Parts", "Marketing"];

export function categoriesOf(templates: TemplateSummary[]): string[] {
  const set = new Set(templates.map((t) => t.category));
  return [...set].sort((a, b) => {
    const ia = CATEGORY_ORDER.indexOf(a);
    const ib = CATEGORY_ORDER.indexOf(b);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
    return a.localeCompare(b);
  });
}

/** Keeps the templates of `category` (all when null) whose name, description, category or
 *  parameters match every word of `search`. */
export function filterTemplates<T extends TemplateSummary>(templates: T[], search: string, category: string | null): T[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  return templates.filter((t) => {
    if (category && t.category !== category) return false;
    if (words.length === 0) return true;
    const text = [t.name, t.description, t.category, t.slug ?? "", ...t.parameters.map((p) => `${p.name} ${paramLabel(p)}`)]
      .join(" ")
      .toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** Groups by category (in CATEGORY_ORDER), each group by name. */
export function groupTemplates<T extends TemplateSummary>(templates: T[]): { category: string; templates: T[] }[] {
  return categoriesOf(templates).map((category) => ({
    category,
    templates: templates.filter((t) => t.category === category).sort((a, b) => a.name.localeCompare(b.name)),
  }));
}

const WORDS: Record<string, string> = {
  smtp: "SMTP",
  sms: "SMS",
  url: "URL",
  crm: "CRM",
  bdc: "BDC",
  dms: "DMS",
  vin: "VIN",
  ro: "RO",
  id: "ID",
  api: "API",
  ai: "AI",
};

/** "store_name" → "Store name", "smtp" → "SMTP", "vin_mode" → "VIN mode". */
export function paramLabel(p: Pick<TemplateParameter, "name" | "label">): string {
  if (p.label) return p.label;
  const words = p.name.split("_").filter(Boolean).map((w) => WORDS[w] ?? w);
  if (words.length === 0) return p.name;
  const [first, ...rest] = words;
  return [first === first.toUpperCase() ? first : first[0].toUpperCase() + first.slice(1), ...rest].join(" ");
}

export type FormValue = string | boolean;

/** The form's starting values: each optional parameter's default, a credential preselected
 *  when the organization has exactly one of its type, empty otherwise. */
export function initialValues(params: TemplateParameter[], credentials: Credential[] = []): Record<string, FormValue> {
  const values: Record<string, FormValue> = {};
  for (const p of params) {
    if (p.type === "boolean") {
      values[p.name] = p.default === true;
    } else if (p.type === "credential") {
      const mine = credentials.filter((c) => c.type === p.credential_type);
      values[p.name] = mine.length === 1 ? mine[0].id : "";
    } else if (p.default !== undefined && p.default !== null) {
      values[p.name] = String(p.default);
    } else {
      values[p.name] = "";
    }
  }
  return values;
}

/** The `parameters` of POST /api/templates/{id}/instantiate: numbers as numbers, booleans as
 *  booleans, empty fields left out (the server fills an optional one's default and names a
 *  missing required one). */
export function buildParameters(params: TemplateParameter[], values: Record<string, FormValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of params) {
    const v = values[p.name];
    if (p.type === "boolean") {
      out[p.name] = v === true;
      continue;
    }
    const s = typeof v === "string" ? v.trim() : "";
    if (s === "") continue;
    if (p.type === "number") {
      const n = Number(s);
      out[p.name] = Number.isFinite(n) ? n : s;
    } else {
      out[p.name] = s;
    }
  }
  return out;
}

/** The 422's details by field: `parameters.<name>` → `<name>`, `name` → `name`; the rest under "". */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  for (const d of error.details) {
    const m = /^parameters\.([A-Za-z0-9_]+)/.exec(d.path);
    const key = m ? m[1] : d.path === "name" ? "name" : "";
    if (!key) continue;
    out[key] = out[key] ? `${out[key]}; ${d.issue}` : d.issue;
  }
  return out;
}

export function nodeCount(definition: Definition | undefined): number | undefined {
  return definition?.nodes?.length;
}
