// Buttons that do a little more than a click: an in-place "are you sure?", copy to the
// clipboard, and the box that shows a secret this one time.
import { useState, type ReactNode } from "react";
import { Button } from "./ui";

/** A button that asks "are you sure?" in place before doing something that cannot be undone. */
export function ConfirmButton({
  label,
  confirmLabel,
  question,
  onConfirm,
  disabled,
  busy,
}: {
  label: string;
  confirmLabel: string;
  question: string;
  onConfirm: () => void;
  disabled?: boolean;
  busy?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <Button variant="secondary" disabled={disabled || busy} onClick={() => setAsking(true)}>
        {busy ? "Working…" : label}
      </Button>
    );
  }
  return (
    <span className="inline-flex flex-wrap items-center gap-2" role="group" aria-label={question}>
      <span className="text-sm text-slate-700">{question}</span>
      <Button
        variant="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </Button>
      <Button variant="ghost" onClick={() => setAsking(false)}>
        Cancel
      </Button>
    </span>
  );
}

/** Copies text to the clipboard and says so for a moment. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <Button
      variant="secondary"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setState("copied");
        } catch {
          setState("failed");
        }
        setTimeout(() => setState("idle"), 2000);
      }}
    >
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed: select and copy by hand" : label}
    </Button>
  );
}

/** A secret shown this one time, with a copy button and the warning that it will not come back. */
export function OneTimeSecret({
  value,
  testId,
  title,
  children,
}: {
  value: string;
  testId?: string;
  title: string;
  children?: ReactNode;
}) {
  return (
    <div className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3">
      <p className="text-sm font-semibold text-amber-900">{title}</p>
      <div className="flex flex-wrap items-center gap-2">
        <code data-testid={testId} className="break-all rounded bg-white px-2 py-1 font-mono text-sm text-slate-900 select-all">
          {value}
        </code>
        <CopyButton text={value} />
      </div>
      <p className="text-xs text-amber-900">
        {children ?? "Copy it now and keep it somewhere safe: it will not be shown again."}
      </p>
    </div>
  );
}

/**
 * The Cancel + main action row at the foot of a dialog. Without `onAction` the main button
 * submits the surrounding form; while `pending` it is disabled and shows `pendingLabel`.
 */
export function DialogActions({
  label,
  pendingLabel,
  pending,
  disabled,
  onCancel,
  onAction,
  variant = "primary",
  cancelLabel = "Cancel",
  className = "",
}: {
  label: string;
  /** The dismissing button's text ("Keep running" where "Cancel" would be ambiguous). */
  cancelLabel?: string;
  pendingLabel: string;
  pending: boolean;
  disabled?: boolean;
  onCancel: () => void;
  onAction?: () => void;
  variant?: "primary" | "danger";
  className?: string;
}) {
  return (
    <div className={`flex justify-end gap-2 ${className}`}>
      <Button variant="secondary" onClick={onCancel}>
        {cancelLabel}
      </Button>
      <Button type={onAction ? "button" : "submit"} variant={variant} onClick={onAction} disabled={disabled || pending}>
        {pending ? pendingLabel : label}
      </Button>
    </div>
  );
}
