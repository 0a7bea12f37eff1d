// Settings: a left sub-navigation and one section per route under /settings.
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { useAuth } from "../../auth/AuthContext";
import { PageHeader } from "../../components/ui";
import { ROLE_HELP, ROLE_LABELS } from "./common";
import { AiSection } from "./AiSection";
import { ApiKeysSection } from "./ApiKeysSection";
import { CredentialsSection } from "./CredentialsSection";
import { MembersSection } from "./MembersSection";
import { SecuritySection } from "./SecuritySection";

const links = [
  { to: "/settings/members", label: "Members" },
  { to: "/settings/api-keys", label: "API keys" },
  { to: "/settings/credentials", label: "Credentials" },
  { to: "/settings/ai", label: "AI" },
  { to: "/settings/security", label: "Security" },
];

export default function SettingsPage() {
  const { organization, role } = useAuth();
  return (
    <div className="p-6">
      <PageHeader
        title="Settings"
        subtitle={
          organization && role ? (
            <>
              {organization.name} · you are {role === "admin" || role === "owner" ? "an" : "a"}{" "}
              <strong>{ROLE_LABELS[role]}</strong> ({ROLE_HELP[role]})
            </>
          ) : undefined
        }
      />
      <div className="flex flex-col gap-6 md:flex-row">
        <nav aria-label="Settings sections" className="md:w-44 md:shrink-0">
          <ul className="flex gap-1 overflow-x-auto md:flex-col">
            {links.map((l) => (
              <li key={l.to}>
                <NavLink
                  to={l.to}
                  className={({ isActive }) =>
                    `block rounded-md px-3 py-1.5 text-sm whitespace-nowrap ${
                      isActive ? "bg-blue-50 font-medium text-blue-800" : "text-slate-700 hover:bg-slate-100"
                    }`
                  }
                >
                  {l.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="min-w-0 flex-1">
          <Routes>
            <Route index element={<Navigate to="/settings/members" replace />} />
            <Route path="members" element={<MembersSection />} />
            <Route path="api-keys" element={<ApiKeysSection />} />
            <Route path="credentials" element={<CredentialsSection />} />
            <Route path="ai" element={<AiSection />} />
            <Route path="security" element={<SecuritySection />} />
            <Route path="*" element={<Navigate to="/settings/members" replace />} />
          </Routes>
        </div>
      </div>
    </div>
  );
}
