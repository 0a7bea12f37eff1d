// The organization roles in ascending order, and the one comparison everything uses.
import type { Role } from "../api/types";

export const ROLES: Role[] = ["viewer", "editor", "admin", "owner"];

/** Whether `role` is `needed` or above. */
export function atLeast(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
