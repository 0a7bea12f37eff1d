// The small component layer every screen uses: buttons, fields, cards, the in-place error
// box, empty states and status badges. Styling lives here, not in the screens.
import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";
import { useId } from "react";
import { ApiError } from "../api/client";

type Variant = "primary" | "secondary" | "danger" | "ghost";
const variants: Record<Variant, string> = {
  primary: "bg-blue-700 text-white hover:bg-blue-800 disabled:bg-blue-300",
  secondary: "bg-white text-slate-800 border border-slate-300 hover:bg-slate-100 disabled:text-slate-400",
  danger: "bg-red-600 text-white hover:bg-red-700 disabled:bg-red-300",
  ghost: "text-slate-700 hover:bg-slate-100 disabled:text-slate-400",
};

/** The look of a button, for a button or for a link that acts as one. */
export function buttonClass(variant: Variant = "primary", className = ""): string {
  return `inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500 disabled:cursor-not-allowed ${variants[variant]} ${className}`;
}

export function Button({ variant = "primary", className = "", ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return <button type="button" {...props} className={buttonClass(variant, className)} />;
}

/** The look of every text input and select; exported for the odd custom control. */
export const fieldClass =
  "block w-full rounded-md border border-slate-300 bg-white px-2.5 py-1.5 text-sm shadow-sm focus:border-blue-500 focus:outline-none focus:ring-1 focus:ring-blue-500 aria-[invalid=true]:border-red-500 disabled:bg-slate-100";

interface FieldProps {
  label: string;
  hint?: ReactNode;
  error?: string;
  /** Draw a "Required"/"Optional" mark beside the label (from the control's `required`). */
  showRequired?: boolean;
  /** Keep the hint under an error too (by default an error replaces the hint). */
  keepHint?: boolean;
}

/** A label, a control, and its error and hint below it (ids `${id}-error`, `${id}-hint` for
 *  aria-describedby). With `required` set, the mark sits beside the label, outside it, so the
 *  label text stays just the name for people and for tests. */
export function Field({
  id,
  label,
  hint,
  error,
  required,
  keepHint,
  children,
}: Omit<FieldProps, "showRequired"> & { id: string; required?: boolean; children: ReactNode }) {
  const labelEl = (
    <label htmlFor={id} className="block text-sm font-medium text-slate-700">
      {label}
    </label>
  );
  return (
    <div className="space-y-1">
      {required === undefined ? (
        labelEl
      ) : (
        <div className="flex items-baseline justify-between gap-2">
          {labelEl}
          <span className={`text-xs ${required ? "font-medium text-red-700" : "text-slate-400"}`}>{required ? "Required" : "Optional"}</span>
        </div>
      )}
      {children}
      {error && (
        <p id={`${id}-error`} className="text-xs text-red-600">
          {error}
        </p>
      )}
      {hint && (!error || keepHint) && (
        <p id={`${id}-hint`} className="text-xs text-slate-500">
          {hint}
        </p>
      )}
    </div>
  );
}

/** The control's aria-describedby: its error and hint paragraphs, when shown. */
function describedBy(id: string, { hint, error, keepHint }: Pick<FieldProps, "hint" | "error" | "keepHint">): string | undefined {
  return [error ? `${id}-error` : "", hint && (!error || keepHint) ? `${id}-hint` : ""].filter(Boolean).join(" ") || undefined;
}

function useField({ label, hint, error, showRequired, keepHint }: FieldProps, required: boolean | undefined) {
  const id = useId();
  const field = { id, label, hint, error, keepHint, required: showRequired ? !!required : undefined };
  const control = { id, "aria-invalid": !!error, "aria-describedby": describedBy(id, { hint, error, keepHint }) };
  return { field, control };
}

export function TextField({ label, hint, error, showRequired, keepHint, ...props }: FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  const { field, control } = useField({ label, hint, error, showRequired, keepHint }, props.required);
  return (
    <Field {...field}>
      <input {...control} {...props} className={fieldClass} />
    </Field>
  );
}

export function TextArea({ label, hint, error, showRequired, keepHint, ...props }: FieldProps & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const { field, control } = useField({ label, hint, error, showRequired, keepHint }, props.required);
  return (
    <Field {...field}>
      <textarea {...control} {...props} className={`${fieldClass} font-mono`} />
    </Field>
  );
}

export function SelectField({ label, hint, error, showRequired, keepHint, children, ...props }: FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  const { field, control } = useField({ label, hint, error, showRequired, keepHint }, props.required);
  return (
    <Field {...field}>
      <select {...control} {...props} className={fieldClass}>
        {children}
      </select>
    </Field>
  );
}

export function Card({ title, actions, children, className = "" }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`rounded-lg border border-slate-200 bg-white shadow-sm ${className}`}>
      {(title || actions) && (
        <header className="flex items-center justify-between border-b border-slate-200 px-4 py-2.5">
          <h2 className="text-sm font-semibold text-slate-800">{title}</h2>
          <div className="flex gap-2">{actions}</div>
        </header>
      )}
      <div className="p-4">{children}</div>
    </section>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
        {subtitle && <p className="mt-0.5 text-sm text-slate-500">{subtitle}</p>}
      </div>
      <div className="flex gap-2">{actions}</div>
    </div>
  );
}

/** An API error shown where it happened: its message, and each detail with its path. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  const message = e ? e.message : error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {title && <p className="font-semibold">{title}</p>}
      <p>{message}</p>
      {e && e.details.length > 0 && (
        <ul className="mt-1 list-disc pl-5">
          {e.details.map((d, i) => (
            <li key={i}>
              {d.path && <code className="mr-1 text-xs">{d.path}</code>}
              {d.issue}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center">
      <p className="font-medium text-slate-800">{title}</p>
      {children && <div className="mx-auto mt-1 max-w-md text-sm text-slate-500">{children}</div>}
      {action && <div className="mt-4">{action}</div>}
    </div>
  );
}

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div role="status" className="flex items-center gap-2 py-6 text-sm text-slate-500">
      <span className="h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-blue-600" />
      {label}
    </div>
  );
}

const statusColors: Record<string, string> = {
  completed: "bg-green-100 text-green-800",
  running: "bg-blue-100 text-blue-800",
  pending: "bg-slate-100 text-slate-700",
  waiting: "bg-amber-100 text-amber-800",
  failed: "bg-red-100 text-red-800",
  cancelled: "bg-slate-200 text-slate-600",
  skipped: "bg-slate-100 text-slate-500",
  active: "bg-green-100 text-green-800",
  inactive: "bg-slate-100 text-slate-600",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`inline-flex rounded-full px-2 py-0.5 text-xs font-medium ${statusColors[status] ?? "bg-slate-100 text-slate-700"}`}>
      {status}
    </span>
  );
}

const dialogSizes = {
  md: "max-h-[90vh] max-w-lg",
  lg: "max-h-[95vh] max-w-3xl",
  xl: "max-h-[95vh] max-w-5xl",
};

/** A modal dialog with a title, labelled for assistive technology. `size` widens it ("md" by default;
 *  "xl" fits a whole graph preview). */
export function Dialog({
  title,
  onClose,
  size = "md",
  children,
}: {
  title: string;
  onClose: () => void;
  size?: keyof typeof dialogSizes;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-slate-900/40 p-4" onMouseDown={onClose}>
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby={id}
        className={`${dialogSizes[size]} w-full overflow-auto rounded-lg bg-white shadow-xl`}
        onMouseDown={(e) => e.stopPropagation()}
        onKeyDown={(e) => e.key === "Escape" && onClose()}
      >
        <header className="flex items-center justify-between border-b border-slate-200 px-4 py-3">
          <h2 id={id} className="font-semibold">
            {title}
          </h2>
          <button type="button" aria-label="Close" className="text-slate-500 hover:text-slate-800" onClick={onClose}>
            ✕
          </button>
        </header>
        <div className="p-4">{children}</div>
      </div>
    </div>
  );
}

export function formatTime(iso?: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatDuration(ms?: number | null): string {
  if (ms === undefined || ms === null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A column of `Table`: its header, and classes for the header cell (e.g. "text-right"). */
export type Column = string | { label: ReactNode; className?: string };

const tableHeads = {
  plain: "text-xs text-slate-500 uppercase",
  ruled: "border-b border-slate-200 text-xs uppercase text-slate-500",
  shaded: "border-b border-slate-200 bg-slate-50 text-xs uppercase text-slate-500",
};
/** Header cell padding: "normal" and "tight" keep a gap between columns (none after the last). */
const tablePads = {
  normal: (last: boolean) => (last ? "py-2" : "py-2 pr-3"),
  tight: (last: boolean) => (last ? "py-1.5" : "py-1.5 pr-3"),
  wide: () => "px-4 py-2",
};

/** A plain data table: a small uppercase header row over the rows given as children.
 *  `thClassName` goes on every header cell, a column's `className` on its own. */
export function Table({
  columns,
  head = "plain",
  pad = "normal",
  thClassName = "",
  bodyClassName,
  children,
}: {
  columns: Column[];
  head?: keyof typeof tableHeads;
  pad?: keyof typeof tablePads;
  thClassName?: string;
  bodyClassName?: string;
  children: ReactNode;
}) {
  return (
    <table className="w-full text-left text-sm">
      <thead className={tableHeads[head]}>
        <tr>
          {columns.map((c, i) => {
            const { label, className = "" } = typeof c === "string" ? { label: c } : c;
            return (
              <th key={i} scope="col" className={`${tablePads[pad](i === columns.length - 1)} ${thClassName} ${className}`.replace(/\s+/g, " ").trim()}>
                {label}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody className={bodyClassName}>{children}</tbody>
    </table>
  );
}
