// Credentials: passwords, tokens and keys that workflow steps use. Write-only: the API never
// answers their values, so the forms are always empty and secrets are password fields.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import type { Credential, CredentialType, JsonSchema } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Button, Card, Dialog, EmptyState, SelectField, Spinner, TextField, formatTime, Table } from "../../components/ui";
import { ConfirmButton, DialogActions } from "../../components/actions";
import { RoleNote, Section, SettingsError } from "./common";


const TYPE_LABELS: Record<string, string> = {
  smtp: "Email server (SMTP)",
  http_bearer: "HTTP bearer token",
  http_basic: "HTTP user name and password",
  http_header: "API key in a header",
  http_query: "API key in the address",
  twilio: "Twilio (SMS)",
  chat_webhook: "Chat webhook (Slack, Teams…)",
  postgres: "PostgreSQL database",
  openai: "OpenAI",
  azure_openai: "Azure OpenAI",
  anthropic: "Anthropic",
  openai_compatible: "OpenAI-compatible server",
};

export function typeLabel(type: string): string {
  return TYPE_LABELS[type] ?? type;
}

/** Fields whose value is a secret: typed into a password input. */
const SECRET_NAMES = /(password|passwd|secret|token|api_key|apikey|private_key|^key$|^value$)/i;
/** Whole-value secrets of some types: a database URL carries its password, a chat webhook URL is the credential. */
const SECRET_FIELDS: Record<string, string[]> = { postgres: ["url"], chat_webhook: ["url"] };

export function isSecretField(type: string, name: string, schema: JsonSchema): boolean {
  return (
    schema.writeOnly === true ||
    schema.format === "password" ||
    SECRET_NAMES.test(name) ||
    (SECRET_FIELDS[type]?.includes(name) ?? false)
  );
}

function humanize(name: string): string {
  const words = name.replace(/_/g, " ");
  const fixed = words.replace(/\b(url|api|sid|tls|id)\b/gi, (w) => w.toUpperCase());
  return fixed.charAt(0).toUpperCase() + fixed.slice(1);
}

function stripMarkdown(text?: string): string | undefined {
  return text?.replace(/`/g, "");
}

type Values = Record<string, string | boolean>;

/** The form fields of a credential type's data, generated from its JSON Schema. Never prefilled. */
export function CredentialFields({
  type,
  values,
  onChange,
  optionalAll = false,
}: {
  type: CredentialType;
  values: Values;
  onChange: (v: Values) => void;
  /** When replacing: nothing is required until something is typed. */
  optionalAll?: boolean;
}) {
  const props = type.data_schema.properties ?? {};
  const required = new Set(type.data_schema.required ?? []);
  // Required fields first, and within each group the secrets last (user name before password).
  const order = (n: string) => (required.has(n) ? 0 : 2) + (isSecretField(type.type, n, props[n]) ? 1 : 0);
  const names = Object.keys(props).sort((a, b) => order(a) - order(b));
  return (
    <div className="space-y-3">
      {names.map((name) => {
        const s = props[name];
        const isRequired = required.has(name);
        const label = humanize(name) + (isRequired ? "" : " (optional)");
        const hint = stripMarkdown(s.description);
        const set = (v: string | boolean) => onChange({ ...values, [name]: v });
        if (Array.isArray(s.enum)) {
          return (
            <SelectField
              key={name}
              label={label}
              hint={hint}
              value={String(values[name] ?? "")}
              required={isRequired && !optionalAll}
              onChange={(e) => set(e.target.value)}
            >
              <option value="">Choose…</option>
              {s.enum.map((v) => (
                <option key={String(v)} value={String(v)}>
                  {String(v)}
                </option>
              ))}
            </SelectField>
          );
        }
        if (s.type === "boolean") {
          return (
            <label key={name} className="flex items-center gap-2 text-sm text-slate-700">
              <input type="checkbox" checked={values[name] === true} onChange={(e) => set(e.target.checked)} />
              {label}
            </label>
          );
        }
        const numeric = s.type === "integer" || s.type === "number";
        const secret = isSecretField(type.type, name, s);
        return (
          <TextField
            key={name}
            label={label}
            hint={hint}
            type={secret ? "password" : numeric ? "number" : s.format === "uri" ? "url" : "text"}
            autoComplete={secret ? "new-password" : "off"}
            min={numeric ? s.minimum : undefined}
            max={numeric ? s.maximum : undefined}
            required={isRequired && !optionalAll}
            value={String(values[name] ?? "")}
            onChange={(e) => set(e.target.value)}
          />
        );
      })}
    </div>
  );
}

/** The `data` object for the API: empty fields left out, numbers as numbers. */
export function buildData(type: CredentialType, values: Values): Record<string, unknown> {
  const props = type.data_schema.properties ?? {};
  const data: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(props)) {
    const v = values[name];
    if (v === undefined || v === "") continue;
    if (typeof v === "boolean") data[name] = v;
    else if (s.type === "integer" || s.type === "number") data[name] = Number(v);
    else data[name] = v;
  }
  return data;
}

function hasAnyValue(values: Values): boolean {
  return Object.values(values).some((v) => v !== "" && v !== false);
}

export function CredentialsSection() {
  const { can } = useAuth();
  const admin = can("admin");
  const qc = useQueryClient();
  const types = useQuery({ queryKey: ["credential-types"], queryFn: () => api<CredentialType[]>("/api/credential-types") });
  const creds = useQuery({ queryKey: ["credentials"], queryFn: () => api<{ items: Credential[] }>("/api/credentials") });
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Credential | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/credentials/${id}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["credentials"] }),
  });
  const items = creds.data?.items ?? [];
  const typeOf = (t: string) => types.data?.find((x) => x.type === t);

  return (
    <Section
      title="Credentials"
      intro={
        <>
          Passwords, tokens and keys your workflows use to reach email, SMS, other systems and AI providers. They are
          encrypted when saved and are <strong>never shown again</strong> — not even to admins. Steps refer to them by name,
          so a workflow never contains the secret itself.
        </>
      }
    >
      {!admin && <RoleNote need="admin">You can see which credentials exist. Only admins and owners can add, replace or delete them.</RoleNote>}
      <Card
        title="Saved credentials"
        actions={admin ? <Button onClick={() => setAdding(true)} disabled={!types.data}>Add credential</Button> : undefined}
      >
        {(creds.isLoading || types.isLoading) && <Spinner />}
        <SettingsError error={creds.error} title="The credentials could not be loaded" />
        <SettingsError error={types.error} title="The credential types could not be loaded" />
        <SettingsError error={remove.error} title="The credential could not be deleted" />
        {creds.data && items.length === 0 && (
          <EmptyState title="No credentials yet">
            {admin
              ? "Add one for each account your workflows use: your email server, SMS provider, CRM or an AI provider."
              : "An admin adds them when a workflow needs to reach another system."}
          </EmptyState>
        )}
        {items.length > 0 && (
          <div className="overflow-x-auto">
            <Table columns={["Name", "Type", "Last changed", ""]}>
              {items.map((c) => (
                <tr key={c.id} className="border-t border-slate-100">
                  <td className="py-2 pr-3 font-medium">{c.name}</td>
                  <td className="py-2 pr-3">{typeLabel(c.type)}</td>
                  <td className="py-2 pr-3">{formatTime(c.updated_at)}</td>
                  <td className="py-2 text-right whitespace-nowrap">
                    {admin && (
                      <span className="inline-flex gap-2">
                        <Button variant="secondary" onClick={() => setEditing(c)} disabled={!typeOf(c.type)} aria-label={`Edit ${c.name}`}>
                          Edit
                        </Button>
                        <ConfirmButton
                          label="Delete"
                          confirmLabel="Delete credential"
                          question={`Delete “${c.name}”? Steps that use it will fail.`}
                          busy={remove.isPending && remove.variables === c.id}
                          onConfirm={() => remove.mutate(c.id)}
                        />
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          </div>
        )}
      </Card>
      {adding && types.data && <AddCredentialDialog types={types.data} onClose={() => setAdding(false)} />}
      {editing && typeOf(editing.type) && (
        <EditCredentialDialog credential={editing} type={typeOf(editing.type)!} onClose={() => setEditing(null)} />
      )}
    </Section>
  );
}

export function AddCredentialDialog({ types, onClose }: { types: CredentialType[]; onClose: () => void }) {
  const qc = useQueryClient();
  const [typeName, setTypeName] = useState("");
  const [name, setName] = useState("");
  const [values, setValues] = useState<Values>({});
  const type = types.find((t) => t.type === typeName);
  const create = useMutation({
    mutationFn: (body: { name: string; type: string; data: Record<string, unknown> }) =>
      api<Credential>("/api/credentials", { body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["credentials"] });
      onClose();
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!type) return;
    create.mutate({ name: name.trim(), type: type.type, data: buildData(type, values) });
  }
  return (
    <Dialog title="Add credential" onClose={onClose}>
      <form className="space-y-4" onSubmit={submit} autoComplete="off">
        <SelectField
          label="Type"
          value={typeName}
          required
          onChange={(e) => {
            setTypeName(e.target.value);
            setValues({});
          }}
          hint={type ? stripMarkdown(type.description) : "What kind of account this is."}
        >
          <option value="">Choose a type…</option>
          {types.map((t) => (
            <option key={t.type} value={t.type}>
              {typeLabel(t.type)}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Name"
          value={name}
          required
          onChange={(e) => setName(e.target.value)}
          hint="How workflows and people will recognise it, e.g. “Sales mailbox”."
        />
        {type && (
          <fieldset className="space-y-3 rounded-md border border-slate-200 p-3">
            <legend className="px-1 text-sm font-medium text-slate-700">{typeLabel(type.type)} details</legend>
            <CredentialFields type={type} values={values} onChange={setValues} />
            <p className="text-xs text-slate-500">These values are encrypted when you save and can never be read back.</p>
          </fieldset>
        )}
        <SettingsError error={create.error} title="The credential could not be saved" />
        <DialogActions label="Save credential" pendingLabel="Saving…" pending={create.isPending} disabled={!type || name.trim() === ""} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

export function EditCredentialDialog({
  credential,
  type,
  onClose,
}: {
  credential: Credential;
  type: CredentialType;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [name, setName] = useState(credential.name);
  const [values, setValues] = useState<Values>({});
  const replacing = hasAnyValue(values);
  const update = useMutation({
    mutationFn: (body: { name?: string; data?: Record<string, unknown> }) =>
      api<Credential>(`/api/credentials/${credential.id}`, { method: "PUT", body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["credentials"] });
      onClose();
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    const body: { name?: string; data?: Record<string, unknown> } = {};
    if (name.trim() !== credential.name) body.name = name.trim();
    if (replacing) body.data = buildData(type, values);
    if (!body.name && !body.data) {
      onClose();
      return;
    }
    update.mutate(body);
  }
  return (
    <Dialog title={`Edit “${credential.name}”`} onClose={onClose}>
      <form className="space-y-4" onSubmit={submit} autoComplete="off">
        <p className="text-sm text-slate-600">Type: {typeLabel(type.type)}</p>
        <TextField label="Name" value={name} required onChange={(e) => setName(e.target.value)} />
        <fieldset className="space-y-3 rounded-md border border-slate-200 p-3">
          <legend className="px-1 text-sm font-medium text-slate-700">Replace the stored values</legend>
          <p className="text-xs text-slate-500">
            The saved values cannot be shown. Leave every field empty to keep them; to change them, fill in all the
            required fields again — the new values replace the old ones entirely.
          </p>
          <CredentialFields type={type} values={values} onChange={setValues} optionalAll={!replacing} />
        </fieldset>
        <SettingsError error={update.error} title="The credential could not be saved" />
        <DialogActions
          label={replacing ? "Replace values" : "Save"}
          pendingLabel="Saving…"
          pending={update.isPending}
          disabled={name.trim() === ""}
          onCancel={onClose}
        />
      </form>
    </Dialog>
  );
}
