// "Use template": a form generated from the template's parameters, POST
// /api/templates/{id}/instantiate, then the new workflow in the studio.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api, ApiError } from "../../api/client";
import type { Workflow } from "../../api/types";
import { DialogActions } from "../../components/actions";
import { Dialog, ErrorBox, SelectField, TextField } from "../../components/ui";
import {
  buildParameters,
  fieldErrors,
  initialValues,
  paramLabel,
  type Credential,
  type FormValue,
  type TemplateParameter,
  type TemplateSummary,
} from "./templates";

const CREDENTIAL_NAMES: Record<string, string> = {
  smtp: "SMTP (email)",
  twilio: "Twilio (texts)",
  http_bearer: "HTTP bearer token",
  http_basic: "HTTP basic",
  http_header: "HTTP header",
  http_query: "HTTP query key",
  chat_webhook: "Chat webhook",
  postgres: "PostgreSQL",
};

export function credentialTypeName(type: string | undefined): string {
  return type ? (CREDENTIAL_NAMES[type] ?? type) : "credential";
}

function ParameterInput({
  param,
  value,
  error,
  credentials,
  credentialsLoading,
  onChange,
}: {
  param: TemplateParameter;
  value: FormValue;
  error?: string;
  credentials: Credential[];
  credentialsLoading: boolean;
  onChange: (v: FormValue) => void;
}) {
  const id = useId();
  const label = paramLabel(param);
  const describedBy = [error ? `${id}-error` : "", param.description ? `${id}-hint` : ""].filter(Boolean).join(" ") || undefined;
  // Every field shows whether it is required, and keeps its hint under an error.
  const common = { label, error, required: param.required, showRequired: true, keepHint: true };

  if (param.type === "boolean") {
    return (
      <div className="space-y-1">
        <label className="flex items-center gap-2 text-sm font-medium text-slate-700">
          <input
            type="checkbox"
            className="h-4 w-4 rounded border-slate-300"
            checked={value === true}
            onChange={(e) => onChange(e.target.checked)}
            aria-invalid={!!error}
            aria-describedby={describedBy}
            id={id}
          />
          {label}
        </label>
        {error && <p id={`${id}-error`} className="text-xs text-red-600">{error}</p>}
        {param.description && <p id={`${id}-hint`} className="text-xs text-slate-500">{param.description}</p>}
      </div>
    );
  }

  if (param.type === "credential") {
    const mine = credentials.filter((c) => c.type === param.credential_type);
    const typeName = credentialTypeName(param.credential_type);
    const hint = (
      <>
        {param.description}
        {!credentialsLoading && mine.length === 0 && (
          <span className="mt-1 block text-amber-800">
            Your organization has no {typeName} credential yet. An admin can add one in{" "}
            <Link to="/settings/credentials" className="font-medium text-blue-700 hover:underline">
              Settings → Credentials
            </Link>
            , then come back to this template.
          </span>
        )}
      </>
    );
    return (
      <SelectField {...common} hint={hint} value={String(value)} onChange={(e) => onChange(e.target.value)} disabled={credentialsLoading}>
          <option value="">
            {credentialsLoading ? "Loading credentials…" : mine.length === 0 ? `No ${typeName} credentials` : "Choose a credential"}
          </option>
          {mine.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
      </SelectField>
    );
  }

  if (param.type === "enum") {
    return (
      <SelectField {...common} hint={param.description} value={String(value)} onChange={(e) => onChange(e.target.value)}>
          <option value="">{param.required ? "Choose…" : "Default"}</option>
          {(param.options ?? []).map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
      </SelectField>
    );
  }

  const inputType =
    param.type === "number" ? "number" : param.type === "email" ? "email" : param.type === "url" ? "url" : param.type === "phone" ? "tel" : "text";
  const example = param.example !== undefined && param.example !== null ? `e.g. ${String(param.example)}` : undefined;
  return (
    <TextField
      {...common}
      hint={param.description}
      type={inputType}
      step={param.type === "number" ? "any" : undefined}
      value={String(value)}
      placeholder={example}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

export function InstantiateDialog({ template, onClose }: { template: TemplateSummary; onClose: () => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const hasCredentials = template.parameters.some((p) => p.type === "credential");
  const credentials = useQuery({
    queryKey: ["credentials"],
    queryFn: () => api<{ items: Credential[] }>("/api/credentials"),
    enabled: hasCredentials,
  });
  const [name, setName] = useState(template.name);
  const [edited, setEdited] = useState<Record<string, FormValue>>({});
  const defaults = initialValues(template.parameters, credentials.data?.items ?? []);
  const values = { ...defaults, ...edited };

  const create = useMutation({
    mutationFn: () =>
      api<Workflow>(`/api/templates/${template.id}/instantiate`, {
        method: "POST",
        body: { name: name.trim(), parameters: buildParameters(template.parameters, values) },
      }),
    onSuccess: (wf) => {
      void queryClient.invalidateQueries({ queryKey: ["workflows"] });
      navigate(`/workflows/${wf.id}`);
    },
  });
  const errors = fieldErrors(create.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!create.isPending) create.mutate();
  };

  return (
    <Dialog title={template.name} onClose={onClose}>
      <form onSubmit={submit} noValidate className="space-y-4">
        {template.description && <p className="text-sm text-slate-600">{template.description}</p>}
        <TextField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          autoFocus
          hint="The new workflow's name. You can change everything in the studio afterwards."
          error={errors.name}
        />
        {template.parameters.length > 0 && (
          <fieldset className="space-y-3">
            <legend className="mb-1 text-sm font-semibold text-slate-800">Settings for your store</legend>
            {credentials.error ? <ErrorBox error={credentials.error} title="Your credentials could not be loaded" /> : null}
            {template.parameters.map((p) => (
              <ParameterInput
                key={p.name}
                param={p}
                value={values[p.name] ?? ""}
                error={errors[p.name]}
                credentials={credentials.data?.items ?? []}
                credentialsLoading={hasCredentials && credentials.isLoading}
                onChange={(v) => setEdited((cur) => ({ ...cur, [p.name]: v }))}
              />
            ))}
          </fieldset>
        )}
        {create.error ? (
          <ErrorBox
            error={create.error}
            title={create.error instanceof ApiError && create.error.status === 422 ? "Some settings need your attention" : "The workflow could not be created"}
          />
        ) : null}
        <DialogActions
          className="border-t border-slate-200 pt-3"
          label="Create workflow"
          pendingLabel="Creating…"
          pending={create.isPending}
          onCancel={onClose}
        />
      </form>
    </Dialog>
  );
}
