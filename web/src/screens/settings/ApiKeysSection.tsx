// API keys: long-lived bearers for programs. The full key is shown once, right after creation.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import type { Role } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Button, Card, Dialog, EmptyState, SelectField, Spinner, TextField, formatTime, Table } from "../../components/ui";
import { ConfirmButton, DialogActions, OneTimeSecret } from "../../components/actions";
import { ROLE_HELP, ROLE_LABELS, RoleNote, Section, rolesUpTo, SettingsError } from "./common";

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export function ApiKeysSection() {
  const { can } = useAuth();
  const admin = can("admin");
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<NewApiKey | null>(null);
  return (
    <Section
      title="API keys"
      intro={
        <>
          Programs (a DMS sync, Zapier, an OpenAI client using the AI proxy) sign in with an API key instead of a
          password. A key acts for you, in this organization, with the role you give it — never more than your own.
        </>
      }
    >
      {admin ? (
        // Behind the open dialog the page is inert and hidden from assistive technology, so
        // "Create API key" and the dialog's "Create" are never both offered.
        <div inert={creating} aria-hidden={creating || undefined} className="space-y-5">
          {created && <NewKeyBanner created={created} onDismiss={() => setCreated(null)} />}
          <ApiKeyList
            highlight={created?.id}
            onCreate={() => {
              setCreated(null);
              setCreating(true);
            }}
          />
        </div>
      ) : (
        <RoleNote need="admin">Only admins and owners can see and manage API keys.</RoleNote>
      )}
      {creating && (
        <CreateApiKeyDialog
          onClose={() => setCreating(false)}
          onCreated={(k) => {
            setCreated(k);
            setCreating(false);
          }}
        />
      )}
    </Section>
  );
}

type NewApiKey = ApiKey & { key: string };

/** The full key of the key just created: shown here once, gone when dismissed or on leaving the page. */
function NewKeyBanner({ created, onDismiss }: { created: NewApiKey; onDismiss: () => void }) {
  return (
    <div className="space-y-2">
      <OneTimeSecret value={created.key} testId="new-api-key" title="Your new API key — copy it now">
        This is the only time the full key is shown: AutoMatrix keeps only a fingerprint of it. If you lose it, revoke
        it and create a new one. Programs send it as <code>Authorization: Bearer amx_…</code>.
      </OneTimeSecret>
      <Button variant="secondary" onClick={onDismiss}>
        I have copied the key
      </Button>
    </div>
  );
}

function ApiKeyList({ onCreate, highlight }: { onCreate: () => void; highlight?: string }) {
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: () => api<{ items: ApiKey[] }>("/api/api-keys") });
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/api/api-keys/${id}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  const items = keys.data?.items ?? [];
  return (
    <Card title="Keys" actions={<Button onClick={onCreate}>Create API key</Button>}>
      {keys.isLoading && <Spinner />}
      <SettingsError error={keys.error} title="The API keys could not be loaded" />
      <SettingsError error={revoke.error} title="The key could not be revoked" />
      {keys.data && items.length === 0 && (
        <EmptyState title="No API keys yet">
          Create one for each program that needs to reach AutoMatrix, so you can revoke them one at a time.
        </EmptyState>
      )}
      {items.length > 0 && (
        <div className="overflow-x-auto">
          <Table columns={["Name", "Key", "Role", "Created", "Last used", "Expires", ""]}>
            {items.map((k) => {
              const expired = k.expires_at !== null && new Date(k.expires_at).getTime() < Date.now();
              return (
                <tr key={k.id} className={`border-t border-slate-100 align-middle ${k.id === highlight ? "bg-amber-50" : ""}`}>
                  <td className="py-2 pr-3 font-medium">
                    {k.name}
                    {k.id === highlight && <span className="ml-2 rounded-full bg-amber-200 px-1.5 py-0.5 text-xs text-amber-900">new</span>}
                  </td>
                  <td className="py-2 pr-3 font-mono text-xs">{k.prefix}…</td>
                  <td className="py-2 pr-3">{ROLE_LABELS[k.role] ?? k.role}</td>
                  <td className="py-2 pr-3">{formatTime(k.created_at)}</td>
                  <td className="py-2 pr-3">{k.last_used_at ? formatTime(k.last_used_at) : "Never"}</td>
                  <td className="py-2 pr-3">
                    {k.expires_at ? formatTime(k.expires_at) : "Never"}
                    {expired && <span className="ml-1 text-xs text-red-700">(expired)</span>}
                  </td>
                  <td className="py-2 text-right">
                    <ConfirmButton
                      label="Revoke"
                      confirmLabel="Revoke key"
                      question={`Revoke “${k.name}”? Programs using it stop working at once.`}
                      busy={revoke.isPending && revoke.variables === k.id}
                      onConfirm={() => revoke.mutate(k.id)}
                    />
                  </td>
                </tr>
              );
            })}
          </Table>
        </div>
      )}
    </Card>
  );
}

/** The end of a chosen day (local time) as RFC 3339, or null for "never". */
function expiryFromDate(date: string): string | null {
  if (!date) return null;
  const d = new Date(`${date}T23:59:59`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function CreateApiKeyDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (key: NewApiKey) => void }) {
  const { role } = useAuth();
  const qc = useQueryClient();
  const options = rolesUpTo(role);
  const [name, setName] = useState("");
  const [keyRole, setKeyRole] = useState<Role>(options.includes("editor") ? "editor" : (options[options.length - 1] ?? "viewer"));
  const [expires, setExpires] = useState("");
  const create = useMutation({
    mutationFn: (body: { name: string; role: Role; expires_at?: string }) =>
      api<NewApiKey>("/api/api-keys", { body }),
    onSuccess: (key) => {
      qc.invalidateQueries({ queryKey: ["api-keys"] });
      onCreated(key);
    },
  });
  const today = new Date().toISOString().slice(0, 10);

  function submit(e: FormEvent) {
    e.preventDefault();
    const body: { name: string; role: Role; expires_at?: string } = { name: name.trim(), role: keyRole };
    const exp = expiryFromDate(expires);
    if (exp) body.expires_at = exp;
    create.mutate(body);
  }

  return (
    <Dialog title="Create API key" onClose={onClose}>
      <form className="space-y-4" onSubmit={submit}>
        <TextField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={100}
          autoFocus
          hint="What uses it, e.g. “DMS nightly sync”. Names are unique in the organization."
        />
        <SelectField
          label="Role"
          value={keyRole}
          onChange={(e) => setKeyRole(e.target.value as Role)}
          hint="What the key may do. It can never do more than you can: if your role is lowered, the key's is too."
        >
          {options.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]} — {ROLE_HELP[r]}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Expires on (optional)"
          type="date"
          min={today}
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          hint="Leave empty for a key that never expires. It stops working at the end of that day."
        />
        <SettingsError error={create.error} title="The key could not be created" />
        <DialogActions label="Create" pendingLabel="Creating…" pending={create.isPending} disabled={name.trim() === ""} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
