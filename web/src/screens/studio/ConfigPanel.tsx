// The selected node's settings: its name and id, a form generated from its type's JSON Schema,
// and how it handles errors (retry, time limit, on_error).
import { useEffect, useId, useState, type ReactNode } from "react";
import type { NodeDef, NodeType } from "../../api/types";
import { Button } from "../../components/ui";
import { SidePanel } from "./SidePanel";
import { anyText, EXPRESSION_HINT, formFields, jsonText, NODE_ID_RE, parseAnyField, parseJsonField, type FormField } from "./logic";

const inputClass =
  "block w-full rounded-md border border-slate-300 bg-white px-2.5 py-1.5 text-sm shadow-sm focus:border-blue-500 focus:outline-none focus:ring-1 focus:ring-blue-500 disabled:bg-slate-50 disabled:text-slate-500 aria-[invalid=true]:border-red-500";

function Row({
  id,
  label,
  required,
  hint,
  error,
  children,
}: {
  id: string;
  label: string;
  required?: boolean;
  hint?: ReactNode;
  error?: string;
  children: ReactNode;
}) {
  return (
    <div className="space-y-1">
      <div className="flex items-baseline gap-0.5">
        <label htmlFor={id} className="block font-mono text-sm font-medium text-slate-700">
          {label}
        </label>
        {required && (
          <span className="text-red-600" title="required">
            *<span className="sr-only"> (required)</span>
          </span>
        )}
      </div>
      {children}
      {error && (
        <p className="text-xs text-red-600" role="alert">
          {error}
        </p>
      )}
      {hint && <div className="text-xs text-slate-500">{hint}</div>}
    </div>
  );
}

function describe(f: FormField): ReactNode {
  const parts: ReactNode[] = [];
  if (f.description) parts.push(<span key="d">{f.description}</span>);
  if (f.defaultValue !== undefined) parts.push(<span key="def"> Default: <code>{JSON.stringify(f.defaultValue)}</code>.</span>);
  if (f.example !== undefined && (f.kind === "json" || f.kind === "any"))
    parts.push(
      <span key="ex" className="block truncate" title={JSON.stringify(f.example)}>
        Example: <code>{JSON.stringify(f.example)}</code>
      </span>,
    );
  return parts.length ? <>{parts}</> : undefined;
}

/** A text area whose text is kept as typed; the value changes only when the text parses. */
function ParsedTextArea({
  id,
  value,
  format,
  parse,
  onChange,
  disabled,
  required,
  rows,
  onError,
}: {
  id: string;
  value: unknown;
  format: (v: unknown) => string;
  parse: (text: string) => { ok: true; value: unknown } | { ok: false; error: string };
  onChange: (v: unknown) => void;
  disabled?: boolean;
  required?: boolean;
  rows: number;
  onError: (e: string | undefined) => void;
}) {
  const [text, setText] = useState(() => format(value));
  // Follow changes made elsewhere (undo, restore) unless the text already means that value.
  useEffect(() => {
    const parsed = parse(text);
    if (!parsed.ok || JSON.stringify(parsed.value) !== JSON.stringify(value)) {
      if (parsed.ok) setText(format(value));
    }
  }, [value]);
  return (
    <textarea
      id={id}
      rows={rows}
      className={`${inputClass} font-mono text-xs`}
      value={text}
      disabled={disabled}
      aria-required={required}
      spellCheck={false}
      onChange={(e) => {
        setText(e.target.value);
        const parsed = parse(e.target.value);
        if (parsed.ok) {
          onError(undefined);
          onChange(parsed.value);
        } else onError(parsed.error);
      }}
    />
  );
}

function NumberInput({
  id,
  value,
  integer,
  onChange,
  disabled,
  required,
  min,
  max,
}: {
  id: string;
  value: unknown;
  integer: boolean;
  onChange: (v: number | undefined) => void;
  disabled?: boolean;
  required?: boolean;
  min?: number;
  max?: number;
}) {
  const shown = typeof value === "number" ? String(value) : typeof value === "string" ? value : "";
  return (
    <input
      id={id}
      type="number"
      inputMode={integer ? "numeric" : "decimal"}
      step={integer ? 1 : "any"}
      min={min}
      max={max}
      className={inputClass}
      value={shown}
      disabled={disabled}
      aria-required={required}
      onChange={(e) => {
        const raw = e.target.value;
        if (raw === "") onChange(undefined);
        else {
          const n = Number(raw);
          if (!Number.isNaN(n)) onChange(integer ? Math.trunc(n) : n);
        }
      }}
    />
  );
}

function ConfigField({
  field,
  value,
  onChange,
  disabled,
}: {
  field: FormField;
  value: unknown;
  onChange: (v: unknown) => void;
  disabled?: boolean;
}) {
  const id = useId();
  const [error, setError] = useState<string | undefined>();
  const hint = describe(field);
  const common = { id, disabled, "aria-required": field.required || undefined };
  // Plain text and code: an empty optional field is left out of the config.
  const text = {
    value: typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value),
    onChange: (e: { target: { value: string } }) => onChange(e.target.value === "" && !field.required ? undefined : e.target.value),
  };
  let control: ReactNode;
  switch (field.kind) {
    case "boolean":
      return (
        <div className="space-y-1">
          <div className="flex items-center gap-2">
            <input
              id={id}
              type="checkbox"
              className="h-4 w-4"
              checked={value === undefined ? field.defaultValue === true : value === true}
              disabled={disabled}
              onChange={(e) => onChange(e.target.checked)}
            />
            <label htmlFor={id} className="font-mono text-sm font-medium text-slate-700">
              {field.name}
            </label>
          </div>
          {hint && <div className="text-xs text-slate-500">{hint}</div>}
        </div>
      );
    case "enum":
      control = (
        <select {...common} className={inputClass} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}>
          <option value="">{field.defaultValue !== undefined ? `Default (${String(field.defaultValue)})` : "Not set"}</option>
          {field.options!.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    case "number":
    case "integer":
      control = (
        <NumberInput
          id={id}
          value={value}
          integer={field.kind === "integer"}
          onChange={onChange}
          disabled={disabled}
          required={field.required}
          min={typeof field.schema.minimum === "number" ? field.schema.minimum : undefined}
          max={typeof field.schema.maximum === "number" ? field.schema.maximum : undefined}
        />
      );
      break;
    case "text":
      control = (
        <input
          {...common}
          {...text}
          type="text"
          className={inputClass}
        />
      );
      break;
    case "textarea":
    case "code":
      control = (
        <textarea
          {...common}
          rows={field.kind === "code" ? 10 : 4}
          spellCheck={field.kind !== "code"}
          {...text}
          className={`${inputClass} ${field.kind === "code" ? "font-mono text-xs" : ""}`}
        />
      );
      break;
    default: {
      // JSON ("any" also takes plain text as a string).
      const any = field.kind === "any";
      control = (
        <ParsedTextArea
          id={id}
          rows={any ? 2 : 5}
          value={value}
          format={any ? anyText : jsonText}
          parse={any ? (t) => ({ ok: true, value: parseAnyField(t) }) : parseJsonField}
          onChange={onChange}
          onError={setError}
          disabled={disabled}
          required={field.required}
        />
      );
    }
  }
  return (
    <Row id={id} label={field.name} required={field.required} hint={hint} error={error}>
      {control}
    </Row>
  );
}

/** The form for a node's `config`, generated from its type's schema. */
export function ConfigForm({
  nodeType,
  config,
  onChange,
  disabled,
}: {
  nodeType: NodeType | undefined;
  config: Record<string, unknown>;
  onChange: (config: Record<string, unknown>) => void;
  disabled?: boolean;
}) {
  const fields = formFields(nodeType);
  if (!nodeType) {
    return (
      <ConfigField
        field={{ name: "config", kind: "json", required: false, description: "This node type is unknown to the server; its config is edited as JSON.", schema: {} }}
        value={config}
        disabled={disabled}
        onChange={(v) => onChange((v ?? {}) as Record<string, unknown>)}
      />
    );
  }
  if (fields.length === 0) return <p className="text-sm text-slate-500">This node has no settings.</p>;
  return (
    <div className="space-y-3">
      {fields.map((f) => (
        <ConfigField
          key={f.name}
          field={f}
          value={config[f.name]}
          disabled={disabled}
          onChange={(v) => {
            const next = { ...config };
            if (v === undefined) delete next[f.name];
            else next[f.name] = v;
            onChange(next);
          }}
        />
      ))}
    </div>
  );
}

function IdField({ node, onRename, disabled }: { node: NodeDef; onRename: (id: string) => string | undefined; disabled?: boolean }) {
  const id = useId();
  const [text, setText] = useState(node.id);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    setText(node.id);
    setError(undefined);
  }, [node.id]);
  const commit = () => {
    if (text === node.id) return;
    const err = onRename(text);
    setError(err);
  };
  return (
    <Row id={id} label="Node ID" hint="Expressions refer to this step as $node[&quot;id&quot;]; renaming updates its connections." error={error}>
      <input
        id={id}
        className={`${inputClass} font-mono`}
        value={text}
        disabled={disabled}
        aria-invalid={!!error || !NODE_ID_RE.test(text)}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") setText(node.id);
        }}
      />
    </Row>
  );
}

function ErrorHandling({ node, onChange, disabled }: { node: NodeDef; onChange: (n: NodeDef) => void; disabled?: boolean }) {
  const ids = { onError: useId(), timeout: useId(), attempts: useId(), backoff: useId(), delay: useId() };
  const retry = (node.retry ?? {}) as { max_attempts?: number; backoff?: string; initial_delay_ms?: number };
  const setRetry = (patch: Record<string, unknown>) => {
    const next: Record<string, unknown> = { ...retry, ...patch };
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
    const n: NodeDef = { ...node, retry: next };
    if (Object.keys(next).length === 0) delete n.retry;
    onChange(n);
  };
  return (
    <div className="space-y-3">
      <Row id={ids.onError} label="When this step fails" hint="fail: the run stops. continue: the step completes with the error as its output. route: the error goes out on an extra “error” port.">
        <select
          id={ids.onError}
          className={inputClass}
          disabled={disabled}
          value={node.on_error ?? "fail"}
          onChange={(e) => {
            const n: NodeDef = { ...node, on_error: e.target.value };
            if (e.target.value === "fail") delete n.on_error;
            onChange(n);
          }}
        >
          <option value="fail">Stop the run (fail, the default)</option>
          <option value="continue">Continue with the error as output (continue)</option>
          <option value="route">Send the error out on an “error” port (route)</option>
        </select>
      </Row>
      <Row id={ids.timeout} label="Step timeout (ms)" hint="timeout_ms: the step's time limit in milliseconds (default 300000, 5 minutes).">
        <NumberInput
          id={ids.timeout}
          integer
          min={1}
          value={node.timeout_ms}
          disabled={disabled}
          onChange={(v) => {
            const n: NodeDef = { ...node, timeout_ms: v };
            if (v === undefined) delete n.timeout_ms;
            onChange(n);
          }}
        />
      </Row>
      <Row id={ids.attempts} label="Retry: max attempts" hint="retry.max_attempts: tries in all (1–100); only timeouts, connection failures, 429 and 5xx answers are retried.">
        <NumberInput id={ids.attempts} integer min={1} max={100} value={retry.max_attempts} disabled={disabled} onChange={(v) => setRetry({ max_attempts: v })} />
      </Row>
      <Row id={ids.backoff} label="Retry: backoff">
        <select id={ids.backoff} className={inputClass} disabled={disabled} value={retry.backoff ?? ""} onChange={(e) => setRetry({ backoff: e.target.value || undefined })}>
          <option value="">Default (exponential)</option>
          <option value="exponential">exponential</option>
          <option value="fixed">fixed</option>
        </select>
      </Row>
      <Row id={ids.delay} label="Retry: first delay (ms)" hint="retry.initial_delay_ms: the wait before the first retry (default 1000).">
        <NumberInput id={ids.delay} integer min={0} value={retry.initial_delay_ms} disabled={disabled} onChange={(v) => setRetry({ initial_delay_ms: v })} />
      </Row>
    </div>
  );
}

/** The panel for the selected node. */
export function ConfigPanel({
  node,
  nodeType,
  problems,
  readOnly,
  onChange,
  onRename,
  onDelete,
  onClose,
  children,
}: {
  node: NodeDef;
  nodeType: NodeType | undefined;
  problems?: string[];
  readOnly?: boolean;
  onChange: (node: NodeDef) => void;
  /** Answers an error message when the id cannot be used. */
  onRename: (id: string) => string | undefined;
  onDelete: () => void;
  onClose: () => void;
  /** More sections after the settings (the connections). */
  children?: ReactNode;
}) {
  const nameId = useId();
  return (
    <SidePanel
      label="Node settings"
      closeLabel="Close node settings"
      onClose={onClose}
      headerClassName="items-start gap-2"
      bodyClassName="space-y-4 px-4 py-3"
      heading={
        <div className="min-w-0">
          <p className="text-xs font-medium uppercase tracking-wide text-slate-500">{nodeType?.display_name ?? node.type}</p>
          <h2 className="truncate font-semibold text-slate-900">{node.name || node.id}</h2>
        </div>
      }
    >
      {nodeType?.description && <p className="text-sm text-slate-600">{nodeType.description}</p>}
      {problems && problems.length > 0 && (
        <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          <p className="font-semibold">Fix before running</p>
          <ul className="list-disc pl-5">
            {problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <fieldset disabled={readOnly} className="space-y-3">
        <Row id={nameId} label="Node name" hint="Shown on the canvas; optional.">
          <input
            id={nameId}
            className={inputClass}
            value={node.name ?? ""}
            placeholder={nodeType?.display_name}
            onChange={(e) => {
              const n: NodeDef = { ...node, name: e.target.value };
              if (!e.target.value) delete n.name;
              onChange(n);
            }}
          />
        </Row>
        <IdField node={node} onRename={onRename} disabled={readOnly} />
      </fieldset>
      <section className="space-y-3">
        <h3 className="text-sm font-semibold text-slate-800">Settings</h3>
        <p className="rounded-md bg-slate-50 px-2.5 py-2 text-xs text-slate-600">{EXPRESSION_HINT}</p>
        <ConfigForm
          nodeType={nodeType}
          config={(node.config ?? {}) as Record<string, unknown>}
          disabled={readOnly}
          onChange={(config) => onChange({ ...node, config })}
        />
      </section>
      {children}
      {!(nodeType?.is_trigger ?? false) && (
        <details className="rounded-md border border-slate-200 px-3 py-2">
          <summary className="cursor-pointer text-sm font-semibold text-slate-800">Errors, retries and time limit</summary>
          <div className="pt-3">
            <ErrorHandling node={node} onChange={onChange} disabled={readOnly} />
          </div>
        </details>
      )}
      {nodeType?.docs && (
        <details className="rounded-md border border-slate-200 px-3 py-2">
          <summary className="cursor-pointer text-sm font-semibold text-slate-800">About this node</summary>
          <div className="whitespace-pre-wrap pt-2 text-xs leading-relaxed text-slate-600">{nodeType.docs}</div>
        </details>
      )}
      {!readOnly && (
        <Button variant="danger" onClick={onDelete}>
          Delete node
        </Button>
      )}
    </SidePanel>
  );
}
