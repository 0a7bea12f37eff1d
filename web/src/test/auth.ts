// A fake signed-in caller for component tests, kept apart from the components so vi.mock's
// factory can import it without loading the screens:
//   vi.mock("../../auth/AuthContext", async () => {
//     const fake = await import("../../test/auth");
//     return { useAuth: () => fake.authValue() };
//   });
// Set fakeAuth.role / fakeAuth.mfaEnabled in a test to change who is signed in.
import { vi } from "vitest";
import type { Organization, Role, User } from "../api/types";

const rank: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

export const fakeAuth = {
  role: "admin" as Role,
  mfaEnabled: false,
};

export const ORG_ID = "00000000-0000-0000-0000-0000000000aa";
export const USER_ID = "00000000-0000-0000-0000-0000000000bb";

export function authValue() {
  const organization: Organization = {
    id: ORG_ID,
    name: "Sunrise Motors",
    role: fakeAuth.role,
    require_mfa: false,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  };
  const user: User = {
    id: USER_ID,
    email: "pat@sunrise.test",
    name: "Pat Admin",
    organization_id: ORG_ID,
    mfa_enabled: fakeAuth.mfaEnabled,
  };
  return {
    signedIn: true,
    user,
    organizations: [organization],
    organization,
    role: fakeAuth.role,
    loading: false,
    login: vi.fn(),
    verifyMfa: vi.fn(),
    register: vi.fn(),
    logout: vi.fn(),
    switchOrganization: vi.fn(),
    can: (r: Role) => rank[fakeAuth.role] >= rank[r],
  };
}

