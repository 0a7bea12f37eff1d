// The node palette: every node type the server offers, grouped by category and searchable;
// drag one onto the canvas, or click it (Enter) to add it.
import { useMemo, useState, type DragEvent } from "react";
import type { NodeType } from "../../api/types";

export const DRAG_TYPE = "application/automatrix-node";

const categoryOrder = ["trigger", "logic", "flow", "transform", "data", "http", "ai", "messaging", "email", "dealer", "code"];
const categoryNames: Record<string, string> = {
  trigger: "Triggers",
  logic: "Logic",
  flow: "Flow",
  transform: "Transform",
  data: "Data",
  http: "HTTP",
  ai: "AI",
  messaging: "Messaging",
  email: "Email",
  dealer: "Dealership",
  code: "Code",
};

export function groupNodeTypes(types: NodeType[], search: string): [string, NodeType[]][] {
  const q = search.trim().toLowerCase();
  const match = (t: NodeType) =>
    !q || t.display_name.toLowerCase().includes(q) || t.type.toLowerCase().includes(q) || t.description.toLowerCase().includes(q) || t.category.toLowerCase().includes(q);
  const groups = new Map<string, NodeType[]>();
  for (const t of types.filter(match)) {
    const list = groups.get(t.category) ?? [];
    list.push(t);
    groups.set(t.category, list);
  }
  const rank = (c: string) => (categoryOrder.indexOf(c) === -1 ? categoryOrder.length : categoryOrder.indexOf(c));
  return [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([c, list]) => [c, list.sort((a, b) => a.display_name.localeCompare(b.display_name))]);
}

export function Palette({ types, onAdd }: { types: NodeType[]; onAdd: (type: string) => void }) {
  const [search, setSearch] = useState("");
  const groups = useMemo(() => groupNodeTypes(types, search), [types, search]);
  const onDragStart = (e: DragEvent, type: string) => {
    e.dataTransfer.setData(DRAG_TYPE, type);
    e.dataTransfer.setData("text/plain", type);
    e.dataTransfer.effectAllowed = "move";
  };
  return (
    <aside aria-label="Node palette" className="flex h-full w-60 shrink-0 flex-col border-r border-slate-200 bg-white">
      <div className="border-b border-slate-200 p-3">
        <label htmlFor="palette-search" className="mb-1 block text-xs font-semibold uppercase tracking-wide text-slate-500">
          Search nodes
        </label>
        <input
          id="palette-search"
          type="search"
          placeholder="e.g. email, if, HTTP"
          className="block w-full rounded-md border border-slate-300 px-2.5 py-1.5 text-sm focus:border-blue-500 focus:outline-none focus:ring-1 focus:ring-blue-500"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <p className="mt-1.5 text-xs text-slate-500">Drag a node onto the canvas, or click it to add it.</p>
      </div>
      <div className="min-h-0 flex-1 overflow-auto p-2">
        {groups.length === 0 && <p className="p-2 text-sm text-slate-500">No node matches “{search}”.</p>}
        {groups.map(([category, list]) => (
          <section key={category} className="mb-3">
            <h3 className="px-1 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">{categoryNames[category] ?? category}</h3>
            <ul className="space-y-1">
              {list.map((t) => (
                <li
                  key={t.type}
                  draggable
                  data-node-type={t.type}
                  title={t.description}
                  onDragStart={(e) => onDragStart(e, t.type)}
                  onClick={() => onAdd(t.type)}
                  className="cursor-grab rounded-md border border-slate-200 bg-white px-2.5 py-1.5 hover:border-blue-400 hover:bg-blue-50 focus-within:ring-2 focus-within:ring-blue-500 active:cursor-grabbing"
                >
                  {/* The button (named by the display name alone) is the keyboard way in; a click
                      anywhere on the item adds the node too. */}
                  <button type="button" className="block w-full text-left text-sm font-medium text-slate-800 focus:outline-none">
                    {t.display_name}
                  </button>
                  <span className="block truncate text-xs text-slate-500">{t.description}</span>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </aside>
  );
}
