// The frame around every signed-in screen: navigation, the organization switcher and the
// account menu.
import { NavLink, Outlet } from "react-router-dom";
import { useAuth } from "../auth/AuthContext";
import { Spinner } from "../components/ui";
import { Notifications } from "./Notifications";

const links = [
  { to: "/", label: "Dashboard", end: true },
  { to: "/workflows", label: "Workflows" },
  { to: "/executions", label: "Executions" },
  { to: "/templates", label: "Templates" },
  { to: "/settings", label: "Settings" },
];

export function Shell() {
  const auth = useAuth();
  return (
    <div className="flex h-full flex-col">
      <header className="flex h-12 shrink-0 items-center gap-6 border-b border-slate-200 bg-white px-4">
        <div className="flex items-center gap-2">
          <img src="/favicon.svg" alt="" className="h-6 w-6" />
          <span className="font-semibold">AutoMatrix</span>
        </div>
        <nav aria-label="Main" className="flex gap-1">
          {links.map((l) => (
            <NavLink
              key={l.to}
              to={l.to}
              end={l.end}
              className={({ isActive }) =>
                `rounded-md px-3 py-1.5 text-sm font-medium ${isActive ? "bg-blue-50 text-blue-800" : "text-slate-600 hover:bg-slate-100"}`
              }
            >
              {l.label}
            </NavLink>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-3 text-sm">
          <Notifications />
          {auth.organizations.length > 1 ? (
            <select
              aria-label="Organization"
              className="rounded-md border border-slate-300 px-2 py-1 text-sm"
              value={auth.organization?.id ?? ""}
              onChange={(e) => auth.switchOrganization(e.target.value)}
            >
              {auth.organizations.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          ) : (
            <span className="text-slate-600">{auth.organization?.name}</span>
          )}
          {auth.role && <span className="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">{auth.role}</span>}
          <span className="text-slate-700" title={auth.user?.email}>
            {auth.user?.name}
          </span>
          <button type="button" className="text-slate-600 hover:text-slate-900" onClick={() => auth.logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="min-h-0 flex-1 overflow-auto">{auth.loading ? <div className="p-6"><Spinner /></div> : <Outlet />}</main>
    </div>
  );
}
