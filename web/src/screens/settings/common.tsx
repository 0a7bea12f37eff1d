// Small pieces the settings sections share: role lists, the "your role cannot" note, an inline
// confirmation, a copy button and the one-time secret box. (Candidates for src/components.)
import { useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError } from "../../api/client";
import type { Role } from "../../api/types";
import { Button, ErrorBox } from "../../components/ui";

export const ROLES: Role[] = ["viewer", "editor", "admin", "owner"];
const rank: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

export const ROLE_LABELS: Record<Role, string> = {
  viewer: "Viewer",
  editor: "Editor",
  admin: "Admin",
  owner: "Owner",
};

export const ROLE_HELP: Record<Role, string> = {
  viewer: "reads everything, changes nothing",
  editor: "builds and runs workflows",
  admin: "also manages members, credentials, API keys and AI",
  owner: "also manages owners and the organization",
};

/** The roles at or below `max` (none when `max` is unknown). */
export function rolesUpTo(max: Role | undefined, highest: Role = "owner"): Role[] {
  if (!max) return [];
  return ROLES.filter((r) => rank[r] <= rank[max] && rank[r] <= rank[highest]);
}

/** A short note saying which role an action needs, shown instead of the action. */
export function RoleNote({ need, children }: { need: Role; children?: ReactNode }) {
  return (
    <p className="flex items-start gap-2 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-600">
      <svg aria-hidden="true" viewBox="0 0 16 16" className="mt-0.5 h-4 w-4 shrink-0 fill-slate-400">
        <path d="M8 1a3.5 3.5 0 0 0-3.5 3.5V7H4a1 1 0 0 0-1 1v6a1 1 0 0 0 1 1h8a1 1 0 0 0 1-1V8a1 1 0 0 0-1-1h-.5V4.5A3.5 3.5 0 0 0 8 1Zm2 6H6V4.5a2 2 0 1 1 4 0V7Z" />
      </svg>
      <span>
      {children ?? (
        <>
          Only {need === "owner" ? "owners" : `${need}s and owners`} can change this. Ask one of them if something
          needs changing.
        </>
      )}
      </span>
    </p>
  );
}

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

export function Section({ title, intro, children }: { title: string; intro?: ReactNode; children: ReactNode }) {
  return (
    <div className="space-y-5">
      <div>
        <h2 className="text-lg font-semibold text-slate-900">{title}</h2>
        {intro && <p className="mt-0.5 max-w-3xl text-sm text-slate-500">{intro}</p>}
      </div>
      {children}
    </div>
  );
}

export function formatUsd(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return n.toLocaleString(undefined, { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: n < 1 && n > 0 ? 4 : 2 });
}

/** ErrorBox, plus what to do next when the answer says so (MFA required, role too low). */
export function SettingsError({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div className="space-y-1">
      <ErrorBox error={error} title={title} />
      {code === "MFA_REQUIRED" && (
        <p className="text-sm text-slate-700">
          This organization requires multi-factor authentication.{" "}
          <Link className="text-blue-700 hover:underline" to="/settings/security">
            Set it up under Security
          </Link>
          , then try again.
        </p>
      )}
      {code === "FORBIDDEN" && <p className="text-xs text-slate-500">Your role does not allow this. An owner or admin can do it for you.</p>}
    </div>
  );
}
