// Who a call acts for, for the rules of project-scoped services.
import type { Principal } from "./auth.js";

export interface Scope {
  /** The project named in the request; for project members always set (authorization ensures it). */
  project?: string;
  /** A project member: sees and changes only what belongs to (or is shared with) `project`. */
  restricted: boolean;
  /** A platform administrator or one of Bulkhead's services. */
  privileged: boolean;
}

export function scopeOf(principal: Principal | undefined, requestProject: string): Scope {
  const privileged = principal?.kind === "service" || principal?.platformRoles.has("admin") === true;
  const unrestricted = privileged || (principal?.platformRoles.size ?? 0) > 0;
  return { project: requestProject || undefined, restricted: !unrestricted, privileged };
}
