// Who is signed in: the session's tokens, the account (GET /api/auth/me) and the organizations
// with the caller's role in each. The current organization goes with every request.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, session, type Tokens } from "../api/client";
import type { Organization, Role, User } from "../api/types";
import { atLeast } from "./roles";

export interface LoginResult {
  mfa_required?: boolean;
  mfa_token?: string;
}

interface AuthValue {
  signedIn: boolean;
  user: User | undefined;
  organizations: Organization[];
  organization: Organization | undefined;
  role: Role | undefined;
  loading: boolean;
  /** Signs in; answers `{mfa_required, mfa_token}` when a code is needed next. */
  login(email: string, password: string): Promise<LoginResult>;
  verifyMfa(mfaToken: string, code: string, recovery?: boolean): Promise<void>;
  register(name: string, email: string, password: string): Promise<void>;
  logout(): Promise<void>;
  switchOrganization(id: string): void;
  can(role: Role): boolean;
}

const AuthContext = createContext<AuthValue | null>(null);


export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [signedIn, setSignedIn] = useState(() => session.get() !== null);
  const [orgId, setOrgId] = useState(() => session.organization());

  useEffect(
    () =>
      session.subscribe((tokens) => {
        setSignedIn(tokens !== null);
        if (!tokens) queryClient.clear();
      }),
    [queryClient],
  );

  const me = useQuery({ queryKey: ["me"], queryFn: () => api<User>("/api/auth/me"), enabled: signedIn });
  const orgs = useQuery({
    queryKey: ["orgs"],
    queryFn: () => api<{ items: Organization[] }>("/api/orgs"),
    enabled: signedIn,
  });

  const organizations = useMemo(() => orgs.data?.items ?? [], [orgs.data]);
  const organization =
    organizations.find((o) => o.id === orgId) ??
    organizations.find((o) => o.id === me.data?.organization_id) ??
    organizations[0];

  useEffect(() => {
    if (organization && organization.id !== session.organization()) session.setOrganization(organization.id);
  }, [organization]);

  const start = useCallback(
    (tokens: Tokens) => {
      queryClient.clear();
      session.set(tokens);
    },
    [queryClient],
  );

  const value: AuthValue = {
    signedIn,
    user: me.data,
    organizations,
    organization,
    role: organization?.role,
    loading: signedIn && (me.isLoading || orgs.isLoading),
    async login(email, password) {
      const res = await api<Tokens & LoginResult>("/api/auth/login", { body: { email, password }, anonymous: true });
      if (res.mfa_required) return { mfa_required: true, mfa_token: res.mfa_token };
      start(res);
      return {};
    },
    async verifyMfa(mfaToken, code, recovery = false) {
      const body = recovery ? { mfa_token: mfaToken, recovery_code: code } : { mfa_token: mfaToken, code };
      start(await api<Tokens>("/api/auth/mfa/verify", { body, anonymous: true }));
    },
    async register(name, email, password) {
      await api("/api/auth/register", { body: { name, email, password }, anonymous: true });
    },
    async logout() {
      const tokens = session.get();
      try {
        if (tokens) await api("/api/auth/logout", { body: { refresh_token: tokens.refresh_token } });
      } finally {
        session.set(null);
        session.setOrganization(null);
      }
    },
    switchOrganization(id) {
      session.setOrganization(id);
      setOrgId(id);
      queryClient.invalidateQueries();
    },
    can(role) {
      return atLeast(organization?.role, role);
    },
  };
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}
