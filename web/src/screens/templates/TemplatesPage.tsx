// The template gallery: ready-made dealership workflows by category, a preview of each graph,
// and "Use template" (editors) to make a workflow from one.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router-dom";
import { useNodeTypes } from "../../api/catalog";
import { api } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { Button, Dialog, EmptyState, ErrorBox, fieldClass, PageHeader, Spinner } from "../../components/ui";
import { GraphView } from "../../graph/GraphView";
import { InstantiateDialog } from "./InstantiateDialog";
import { categoriesOf, filterTemplates, groupTemplates, paramLabel, type Template, type TemplateSummary } from "./templates";

function useTemplate(id: string | null) {
  return useQuery({
    queryKey: ["template", id],
    queryFn: () => api<Template>(`/api/templates/${id}`),
    enabled: !!id,
    staleTime: 5 * 60_000,
  });
}

const categoryColors: Record<string, string> = {
  Sales: "bg-blue-100 text-blue-800",
  Service: "bg-emerald-100 text-emerald-800",
  Parts: "bg-amber-100 text-amber-800",
  Marketing: "bg-fuchsia-100 text-fuchsia-800",
};

function CategoryBadge({ category }: { category: string }) {
  return (
    <span className={`inline-flex rounded-full px-2 py-0.5 text-xs font-medium ${categoryColors[category] ?? "bg-slate-100 text-slate-700"}`}>
      {category}
    </span>
  );
}

function PreviewDialog({
  template,
  canUse,
  onUse,
  onClose,
}: {
  template: TemplateSummary;
  canUse: boolean;
  onUse: () => void;
  onClose: () => void;
}) {
  const detail = useTemplate(template.id);
  // Draw once the node catalog is known: the ports of branching nodes come from it, and a graph
  // drawn before would lose those edges and fit the view to the wrong boxes.
  const catalog = useNodeTypes();
  const ready = detail.data && !catalog.isLoading;
  return (
    <Dialog size="xl" title={`Preview: ${template.name}`} onClose={onClose}>
      <div className="space-y-3">
        <p className="text-sm text-slate-600">{template.description}</p>
        {(detail.isLoading || (detail.data && catalog.isLoading)) && <Spinner label="Loading the graph…" />}
        <ErrorBox error={detail.error} title="The template could not be loaded" />
        {ready && <GraphView definition={detail.data.definition} className="h-[60vh]" />}
        {template.parameters.length > 0 && (
          <div>
            <p className="text-sm font-medium text-slate-800">You will be asked for</p>
            <p className="text-sm text-slate-600">{template.parameters.map((p) => paramLabel(p)).join(", ")}</p>
          </div>
        )}
        <div className="flex justify-end gap-2 border-t border-slate-200 pt-3">
          <Button variant="secondary" onClick={onClose}>
            Close
          </Button>
          {canUse && <Button onClick={onUse}>Use this template</Button>}
        </div>
      </div>
    </Dialog>
  );
}

function TemplateCard({
  template,
  canUse,
  onPreview,
  onUse,
}: {
  template: TemplateSummary;
  canUse: boolean;
  onPreview: () => void;
  onUse: () => void;
}) {
  const nodes = template.node_count;
  const headingId = `template-${template.id}`;
  return (
    <article
      aria-labelledby={headingId}
      data-testid="template-card"
      className="flex flex-col rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <div className="flex items-start justify-between gap-2">
        <h3 id={headingId} className="font-semibold text-slate-900">
          {template.name}
        </h3>
        <CategoryBadge category={template.category} />
      </div>
      <p className="mt-1.5 flex-1 text-sm text-slate-600">{template.description}</p>
      <p className="mt-3 text-xs text-slate-500">
        {nodes} {nodes === 1 ? "step" : "steps"}
        {" · "}
        {template.parameters.length} {template.parameters.length === 1 ? "setting" : "settings"} to fill in
        {!template.builtin && " · your organization's"}
      </p>
      <div className="mt-3 flex gap-2">
        <Button variant="secondary" onClick={onPreview} aria-label={`Preview ${template.name}`}>
          Preview
        </Button>
        {canUse && <Button onClick={onUse}>Use template</Button>}
      </div>
    </article>
  );
}

export default function TemplatesPage() {
  const { can } = useAuth();
  const canUse = can("editor");
  const [search, setSearch] = useState("");
  const [category, setCategory] = useState<string | null>(null);
  const [previewing, setPreviewing] = useState<TemplateSummary | null>(null);
  const [using, setUsing] = useState<TemplateSummary | null>(null);

  const list = useQuery({
    queryKey: ["templates"],
    queryFn: () => api<{ items: TemplateSummary[] }>("/api/templates"),
  });
  const all = list.data?.items ?? [];
  const categories = categoriesOf(all);
  const groups = groupTemplates(filterTemplates(all, search, category));

  return (
    <div className="p-6">
      <PageHeader
        title="Templates"
        subtitle="Ready-made dealership workflows. Pick one, fill in your store's details, and it becomes a workflow you can change."
      />
      {!canUse && list.data && (
        <p className="mb-4 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-600">
          You can browse the templates. Creating a workflow from one needs the editor role; ask an admin of your organization.
        </p>
      )}
      <div className="mb-5 flex flex-wrap items-center gap-3">
        <div className="w-full max-w-xs">
          <label htmlFor="template-search" className="sr-only">
            Search templates
          </label>
          <input
            id="template-search"
            type="search"
            placeholder="Search templates"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            className={fieldClass}
          />
        </div>
        {categories.length > 0 && (
          <div role="group" aria-label="Category" className="flex flex-wrap gap-1.5">
            {[null, ...categories].map((c) => (
              <button
                key={c ?? "all"}
                type="button"
                aria-pressed={category === c}
                onClick={() => setCategory(c)}
                className={`rounded-full border px-3 py-1 text-sm ${
                  category === c ? "border-blue-700 bg-blue-700 text-white" : "border-slate-300 bg-white text-slate-700 hover:bg-slate-100"
                }`}
              >
                {c ?? "All"}
              </button>
            ))}
          </div>
        )}
      </div>

      {list.isLoading && <Spinner label="Loading templates…" />}
      <ErrorBox error={list.error} title="The templates could not be loaded" />
      {list.data && all.length === 0 && (
        <EmptyState title="No templates yet">
          The built-in templates come with the server. You can also save one of your{" "}
          <Link to="/workflows" className="text-blue-700 hover:underline">
            workflows
          </Link>{" "}
          as a template.
        </EmptyState>
      )}
      {list.data && all.length > 0 && groups.length === 0 && (
        <EmptyState
          title="No template matches"
          action={
            <Button
              variant="secondary"
              onClick={() => {
                setSearch("");
                setCategory(null);
              }}
            >
              Show all templates
            </Button>
          }
        >
          Nothing {category ? `in ${category} ` : ""}matches “{search}”. Try another word, or clear the search.
        </EmptyState>
      )}

      <div className="space-y-8">
        {groups.map((g) => (
          <section key={g.category} aria-labelledby={`cat-${g.category}`}>
            <h2 id={`cat-${g.category}`} className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-500">
              {g.category} <span className="font-normal normal-case tracking-normal">({g.templates.length})</span>
            </h2>
            <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
              {g.templates.map((t) => (
                <TemplateCard
                  key={t.id}
                  template={t}
                  canUse={canUse}
                  onPreview={() => setPreviewing(t)}
                  onUse={() => setUsing(t)}
                />
              ))}
            </div>
          </section>
        ))}
      </div>

      {previewing && (
        <PreviewDialog
          template={previewing}
          canUse={canUse}
          onClose={() => setPreviewing(null)}
          onUse={() => {
            setUsing(previewing);
            setPreviewing(null);
          }}
        />
      )}
      {using && <InstantiateDialog template={using} onClose={() => setUsing(null)} />}
    </div>
  );
}
