// AI: the monthly budget with this month's spend, usage, and the routes that say which provider
// and model answer each model alias.
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { Button, Card, Dialog, EmptyState, SelectField, Spinner, TextArea, TextField, formatTime, Table } from "../../components/ui";
import { ConfirmButton } from "../../components/actions";
import { formatUsd } from "../../components/format";
import { RoleNote, Section, SettingsError } from "./common";
import type { AiUsage as Usage, Credential } from "../../api/types";
import { typeLabel } from "./CredentialsSection";

export interface Budget {
  monthly_usd: number | null;
  alert_at: number | null;
  spent_usd: number;
  remaining_usd: number | null;
  alerting: boolean;
  exhausted: boolean;
  updated_at: string | null;
}


export interface Target {
  credential_id: string;
  model: string;
  weight?: number | null;
  input_usd_per_mtok: number;
  output_usd_per_mtok: number;
}

export interface AiRoute {
  alias: string;
  strategy: "fallback" | "weighted";
  targets: Target[];
  created_at: string;
  updated_at: string;
}

const PROVIDER_TYPES = ["openai", "azure_openai", "anthropic", "openai_compatible"];

export function AiSection() {
  const { can } = useAuth();
  const admin = can("admin");
  return (
    <Section
      title="AI"
      intro="AI steps and the AI proxy ask a route (a model alias such as “default”) which provider and model to use. The budget caps what the organization spends each month."
    >
      {!admin && <RoleNote need="admin">You can see the routes, usage and budget. Only admins and owners can change them.</RoleNote>}
      <BudgetCard admin={admin} />
      <UsageCard />
      <RoutesCard admin={admin} />
    </Section>
  );
}

function BudgetCard({ admin }: { admin: boolean }) {
  const qc = useQueryClient();
  const budget = useQuery({ queryKey: ["ai-budget"], queryFn: () => api<Budget>("/api/ai/budget") });
  const [monthly, setMonthly] = useState("");
  const [alertPct, setAlertPct] = useState("80");
  useEffect(() => {
    if (budget.data) {
      setMonthly(budget.data.monthly_usd === null ? "" : String(budget.data.monthly_usd));
      setAlertPct(String(Math.round((budget.data.alert_at ?? 0.8) * 100)));
    }
  }, [budget.data]);
  const save = useMutation({
    mutationFn: (body: { monthly_usd: number; alert_at: number }) => api<Budget>("/api/ai/budget", { method: "PUT", body }),
    onSuccess: (b) => {
      qc.setQueryData(["ai-budget"], b);
      qc.invalidateQueries({ queryKey: ["ai-budget"] });
    },
  });
  const b = budget.data;
  const limit = b?.monthly_usd ?? null;
  const pct = b && limit !== null && limit > 0 ? Math.min(100, (b.spent_usd / limit) * 100) : limit === 0 ? 100 : 0;
  const barColor = b?.exhausted ? "bg-red-600" : b?.alerting ? "bg-amber-500" : "bg-blue-600";
  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate({ monthly_usd: Number(monthly), alert_at: Number(alertPct) / 100 });
  }
  return (
    <Card title="Monthly budget">
      {budget.isLoading && <Spinner />}
      <SettingsError error={budget.error} title="The budget could not be loaded" />
      {b && (
        <div className="space-y-3">
          <p className="text-sm text-slate-700">
            Spent this month: <strong>{formatUsd(b.spent_usd)}</strong>
            {limit !== null ? (
              <>
                {" "}
                of <strong>{formatUsd(limit)}</strong> · {formatUsd(b.remaining_usd)} left
              </>
            ) : (
              " · no budget set, so AI spending is not limited"
            )}
          </p>
          {limit !== null && (
            <div
              role="progressbar"
              aria-label="Budget used"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={Math.round(pct)}
              className="h-3 w-full overflow-hidden rounded-full bg-slate-200"
            >
              <div className={`h-full ${barColor}`} style={{ width: `${pct}%` }} />
            </div>
          )}
          {b.exhausted && (
            <p role="alert" className="text-sm font-medium text-red-700">
              The budget is used up: AI steps fail until next month or until the budget is raised.
            </p>
          )}
          {!b.exhausted && b.alerting && (
            <p className="text-sm font-medium text-amber-800">Spending has passed the alert level ({Math.round((b.alert_at ?? 0) * 100)}%).</p>
          )}
          {admin ? (
            <form className="flex flex-wrap items-end gap-3 border-t border-slate-100 pt-3" onSubmit={submit}>
              <div className="w-44">
                <TextField
                  label="Monthly budget (USD)"
                  type="number"
                  min={0}
                  step="0.01"
                  required
                  value={monthly}
                  onChange={(e) => setMonthly(e.target.value)}
                />
              </div>
              <div className="w-44">
                <TextField
                  label="Alert at (% of budget)"
                  type="number"
                  min={1}
                  max={100}
                  required
                  value={alertPct}
                  onChange={(e) => setAlertPct(e.target.value)}
                />
              </div>
              <Button type="submit" disabled={save.isPending || monthly === ""}>
                {save.isPending ? "Saving…" : "Save budget"}
              </Button>
            </form>
          ) : null}
          {admin && <p className="text-xs text-slate-500">A budget of 0 stops every AI call. The month is a UTC calendar month.</p>}
          <SettingsError error={save.error} title="The budget could not be saved" />
          {b.updated_at && <p className="text-xs text-slate-500">Last changed {formatTime(b.updated_at)}.</p>}
        </div>
      )}
    </Card>
  );
}

function UsageCard() {
  const [groupBy, setGroupBy] = useState<"model" | "day" | "workflow">("model");
  const usage = useQuery({
    queryKey: ["ai-usage", groupBy],
    queryFn: () => api<Usage>("/api/ai/usage", { query: { group_by: groupBy } }),
  });
  const u = usage.data;
  return (
    <Card
      title="Usage this month"
      actions={
        <label className="flex items-center gap-2 text-sm text-slate-600">
          By
          <select
            aria-label="Group usage by"
            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm"
            value={groupBy}
            onChange={(e) => setGroupBy(e.target.value as typeof groupBy)}
          >
            <option value="model">model</option>
            <option value="day">day</option>
            <option value="workflow">workflow</option>
          </select>
        </label>
      }
    >
      {usage.isLoading && <Spinner />}
      <SettingsError error={usage.error} title="The usage could not be loaded" />
      {u && (
        <div className="space-y-3">
          <p className="text-sm text-slate-700">
            <strong>{u.calls.toLocaleString()}</strong> calls · <strong>{formatUsd(u.total_cost_usd)}</strong> ·{" "}
            {u.input_tokens.toLocaleString()} tokens in, {u.output_tokens.toLocaleString()} out
          </p>
          {u.items.length === 0 ? (
            <EmptyState title="No AI calls this month">Usage appears here once an AI step or the AI proxy is used.</EmptyState>
          ) : (
            <Table
              columns={[
                groupBy === "model" ? "Model" : groupBy === "day" ? "Day (UTC)" : "Workflow",
                ...["Calls", "Tokens in / out", "Cost"].map((label) => ({ label, className: "text-right" })),
              ]}
            >
              {u.items.map((r) => (
                <tr key={r.key} className="border-t border-slate-100">
                  <td className="py-2 pr-3 font-mono text-xs">
                    {groupBy === "workflow" && r.key === "none" ? "AI proxy (no workflow)" : r.key}
                  </td>
                  <td className="py-2 pr-3 text-right">{r.calls.toLocaleString()}</td>
                  <td className="py-2 pr-3 text-right">
                    {r.input_tokens.toLocaleString()} / {r.output_tokens.toLocaleString()}
                  </td>
                  <td className="py-2 text-right">{formatUsd(r.cost_usd)}</td>
                </tr>
              ))}
            </Table>
          )}
        </div>
      )}
    </Card>
  );
}

function RoutesCard({ admin }: { admin: boolean }) {
  const qc = useQueryClient();
  const routes = useQuery({ queryKey: ["ai-routes"], queryFn: () => api<{ items: AiRoute[] }>("/api/ai/routes") });
  const creds = useQuery({ queryKey: ["credentials"], queryFn: () => api<{ items: Credential[] }>("/api/credentials") });
  const [editing, setEditing] = useState<AiRoute | "new" | null>(null);
  const remove = useMutation({
    mutationFn: (alias: string) => api(`/api/ai/routes/${encodeURIComponent(alias)}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["ai-routes"] }),
  });
  const credName = (id: string) => creds.data?.items.find((c) => c.id === id)?.name ?? "a deleted credential";
  const items = routes.data?.items ?? [];
  return (
    <Card title="Routes" actions={admin ? <Button onClick={() => setEditing("new")}>Add route</Button> : undefined}>
      {routes.isLoading && <Spinner />}
      <SettingsError error={routes.error} title="The routes could not be loaded" />
      <SettingsError error={remove.error} title="The route could not be deleted" />
      {routes.data && items.length === 0 && (
        <EmptyState title="No routes yet">
          Until you add one, the alias “default” is answered by a built-in practice model (no real AI, no cost), so
          templates run out of the box. {admin ? "Add a provider credential, then a route named “default”." : ""}
        </EmptyState>
      )}
      {items.length > 0 && (
        <ul className="divide-y divide-slate-100">
          {items.map((r) => (
            <li key={r.alias} className="flex flex-wrap items-start justify-between gap-3 py-3">
              <div className="min-w-0">
                <p className="font-mono text-sm font-semibold">{r.alias}</p>
                <p className="text-xs text-slate-500">
                  {r.strategy === "weighted" ? "Weighted: calls are shared between targets" : "Fallback: targets in order, the first that answers wins"} · changed{" "}
                  {formatTime(r.updated_at)}
                </p>
                <ol className="mt-1 list-decimal pl-5 text-sm text-slate-700">
                  {r.targets.map((t, i) => (
                    <li key={i}>
                      <span className="font-mono">{t.model}</span> via {credName(t.credential_id)}
                      {r.strategy === "weighted" && t.weight != null && ` · weight ${t.weight}`}
                      <span className="text-xs text-slate-500">
                        {" "}
                        · ${t.input_usd_per_mtok} in / ${t.output_usd_per_mtok} out per million tokens
                      </span>
                    </li>
                  ))}
                </ol>
              </div>
              {admin && (
                <div className="flex gap-2">
                  <Button variant="secondary" aria-label={`Edit route ${r.alias}`} onClick={() => setEditing(r)}>
                    Edit
                  </Button>
                  <ConfirmButton
                    label="Delete"
                    confirmLabel="Delete route"
                    question={`Delete the route “${r.alias}”? Steps using it will fail${r.alias === "default" ? " (or fall back to the practice model)" : ""}.`}
                    busy={remove.isPending && remove.variables === r.alias}
                    onConfirm={() => remove.mutate(r.alias)}
                  />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {editing && (
        <RouteDialog
          route={editing === "new" ? null : editing}
          suggestDefault={!items.some((r) => r.alias === "default")}
          credentials={(creds.data?.items ?? []).filter((c) => PROVIDER_TYPES.includes(c.type))}
          onClose={() => setEditing(null)}
        />
      )}
    </Card>
  );
}

interface TargetDraft {
  credential_id: string;
  model: string;
  weight: string;
  input_usd_per_mtok: string;
  output_usd_per_mtok: string;
}

function toDraft(t: Target): TargetDraft {
  return {
    credential_id: t.credential_id,
    model: t.model,
    weight: t.weight == null ? "" : String(t.weight),
    input_usd_per_mtok: String(t.input_usd_per_mtok),
    output_usd_per_mtok: String(t.output_usd_per_mtok),
  };
}

function fromDraft(t: TargetDraft, weighted: boolean): Target {
  const out: Target = {
    credential_id: t.credential_id,
    model: t.model.trim(),
    input_usd_per_mtok: Number(t.input_usd_per_mtok || 0),
    output_usd_per_mtok: Number(t.output_usd_per_mtok || 0),
  };
  if (weighted && t.weight !== "") out.weight = Number(t.weight);
  return out;
}

const emptyTarget = (credential_id = ""): TargetDraft => ({
  credential_id,
  model: "",
  weight: "",
  input_usd_per_mtok: "0",
  output_usd_per_mtok: "0",
});

function RouteDialog({
  route,
  credentials,
  suggestDefault,
  onClose,
}: {
  route: AiRoute | null;
  credentials: Credential[];
  suggestDefault: boolean;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [alias, setAlias] = useState(route?.alias ?? (suggestDefault ? "default" : ""));
  const [strategy, setStrategy] = useState<"fallback" | "weighted">(route?.strategy ?? "fallback");
  const [targets, setTargets] = useState<TargetDraft[]>(route ? route.targets.map(toDraft) : [emptyTarget(credentials[0]?.id)]);
  const [jsonMode, setJsonMode] = useState(false);
  const [json, setJson] = useState("");
  const [jsonError, setJsonError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: ({ alias: a, body }: { alias: string; body: unknown }) =>
      api<AiRoute>(`/api/ai/routes/${encodeURIComponent(a)}`, { method: "PUT", body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["ai-routes"] });
      onClose();
    },
  });
  const body = () => ({ strategy, targets: targets.map((t) => fromDraft(t, strategy === "weighted")) });
  const setTarget = (i: number, patch: Partial<TargetDraft>) =>
    setTargets(targets.map((t, j) => (j === i ? { ...t, ...patch } : t)));

  function toggleJson() {
    if (!jsonMode) {
      setJson(JSON.stringify(body(), null, 2));
      setJsonError(null);
      setJsonMode(true);
      return;
    }
    try {
      const parsed = JSON.parse(json) as { strategy?: "fallback" | "weighted"; targets?: Target[] };
      setStrategy(parsed.strategy ?? "fallback");
      setTargets((parsed.targets ?? []).map(toDraft));
      setJsonMode(false);
      setJsonError(null);
    } catch (e) {
      setJsonError(`The JSON is not valid: ${(e as Error).message}`);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (jsonMode) {
      try {
        save.mutate({ alias: alias.trim(), body: JSON.parse(json) });
      } catch (err) {
        setJsonError(`The JSON is not valid: ${(err as Error).message}`);
      }
      return;
    }
    save.mutate({ alias: alias.trim(), body: body() });
  }

  return (
    <Dialog title={route ? `Edit route “${route.alias}”` : "Add route"} onClose={onClose}>
      <form className="space-y-4" onSubmit={submit}>
        <TextField
          label="Alias"
          value={alias}
          required
          readOnly={route !== null}
          onChange={(e) => setAlias(e.target.value)}
          hint="The name AI steps use as their model: lowercase letters, digits, “.”, “_” and “-”. “default” is used when a step names none."
        />
        {credentials.length === 0 && (
          <p className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
            Add a credential of an AI provider first (OpenAI, Azure OpenAI, Anthropic or an OpenAI-compatible server) under
            Credentials.
          </p>
        )}
        {jsonMode ? (
          <TextArea label="Route as JSON" rows={12} value={json} onChange={(e) => setJson(e.target.value)} hint="{strategy, targets: [{credential_id, model, weight?, input_usd_per_mtok, output_usd_per_mtok}]}" />
        ) : (
          <>
            <SelectField label="Strategy" value={strategy} onChange={(e) => setStrategy(e.target.value as "fallback" | "weighted")}>
              <option value="fallback">Fallback — try targets in order</option>
              <option value="weighted">Weighted — share calls between targets</option>
            </SelectField>
            {targets.map((t, i) => (
              <fieldset key={i} className="space-y-2 rounded-md border border-slate-200 p-3">
                <legend className="px-1 text-sm font-medium text-slate-700">Target {i + 1}</legend>
                <SelectField label={`Provider credential (target ${i + 1})`} value={t.credential_id} required onChange={(e) => setTarget(i, { credential_id: e.target.value })}>
                  <option value="">Choose…</option>
                  {credentials.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name} ({typeLabel(c.type)})
                    </option>
                  ))}
                </SelectField>
                <TextField label={`Model (target ${i + 1})`} value={t.model} required placeholder="gpt-4o-mini" onChange={(e) => setTarget(i, { model: e.target.value })} />
                <div className="grid grid-cols-2 gap-2">
                  <TextField label="Input $ / million tokens" type="number" min={0} step="any" value={t.input_usd_per_mtok} onChange={(e) => setTarget(i, { input_usd_per_mtok: e.target.value })} />
                  <TextField label="Output $ / million tokens" type="number" min={0} step="any" value={t.output_usd_per_mtok} onChange={(e) => setTarget(i, { output_usd_per_mtok: e.target.value })} />
                </div>
                {strategy === "weighted" && (
                  <TextField label={`Weight (target ${i + 1})`} type="number" min={0} step="any" required value={t.weight} onChange={(e) => setTarget(i, { weight: e.target.value })} />
                )}
                {targets.length > 1 && (
                  <Button variant="ghost" onClick={() => setTargets(targets.filter((_, j) => j !== i))}>
                    Remove target {i + 1}
                  </Button>
                )}
              </fieldset>
            ))}
            {targets.length < 8 && (
              <Button variant="secondary" onClick={() => setTargets([...targets, emptyTarget(credentials[0]?.id)])}>
                Add a fallback target
              </Button>
            )}
          </>
        )}
        {jsonError && <SettingsError error={jsonError} />}
        <SettingsError error={save.error} title="The route could not be saved" />
        <div className="flex flex-wrap justify-between gap-2">
          <Button variant="ghost" onClick={toggleJson}>
            {jsonMode ? "Back to the form" : "Edit as JSON"}
          </Button>
          <div className="flex gap-2">
            <Button variant="secondary" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={save.isPending || alias.trim() === ""}>
              {save.isPending ? "Saving…" : "Save route"}
            </Button>
          </div>
        </div>
      </form>
    </Dialog>
  );
}
