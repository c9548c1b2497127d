/**
 * Who is acting, carried from the HTTP or agent edge into every service call so that each mutation
 * can be written to the audit log with its actor and address.
 */
export type Actor =
  | { type: "api-key"; id: string; name: string; role: Role }
  | { type: "agent"; id: string }
  | { type: "connect-key"; id: string }
  /** A directory user, signed in to the user portal. */
  | { type: "user"; id: string; name: string }
  | { type: "system"; id: null };

export interface RequestContext {
  actor: Actor;
  remoteAddr: string | null;
  now: Date;
}

/** admin: everything; read-only: read everything but secrets; command-runner: list, run and read the results of the commands it is a runner of, nothing else. */
export const ROLES = ["admin", "read-only", "command-runner"] as const;
export type Role = (typeof ROLES)[number];

export function systemContext(now = new Date()): RequestContext {
  return { actor: { type: "system", id: null }, remoteAddr: null, now };
}
