// Small pieces the settings sections share: role lists, the "your role cannot" note, the
// section frame and the settings error box. (Generic actions live in src/components/actions.)
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError } from "../../api/client";
import type { Role } from "../../api/types";
import { atLeast, ROLES } from "../../auth/roles";
import { ErrorBox } from "../../components/ui";


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
  return ROLES.filter((r) => atLeast(max, r) && atLeast(highest, r));
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
