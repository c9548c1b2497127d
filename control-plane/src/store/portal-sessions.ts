import type { PortalSessionScope } from "../domain/portal.js";
import type { Db } from "./db.js";

export interface PortalSessionRecord {
  tokenHash: string;
  userId: string;
  scope: PortalSessionScope;
  createdAt: string;
  expiresAt: string;
  remoteAddr: string | null;
}

/** User portal sessions, by the SHA-256 of the bearer token (services/hashing.ts). */
export class PortalSessionStore {
  constructor(private readonly db: Db) {}

  insert(session: PortalSessionRecord): void {
    this.db
      .prepare("INSERT INTO portal_sessions (token_hash, user_id, scope, created_at, expires_at, remote_addr) VALUES (?, ?, ?, ?, ?, ?)")
      .run(session.tokenHash, session.userId, session.scope, session.createdAt, session.expiresAt, session.remoteAddr);
  }

  get(tokenHash: string): PortalSessionRecord | undefined {
    return this.db
      .prepare(
        `SELECT token_hash AS tokenHash, user_id AS userId, scope, created_at AS createdAt, expires_at AS expiresAt, remote_addr AS remoteAddr
         FROM portal_sessions WHERE token_hash = ?`,
      )
      .get(tokenHash) as PortalSessionRecord | undefined;
  }

  setScope(tokenHash: string, scope: PortalSessionScope): void {
    this.db.prepare("UPDATE portal_sessions SET scope = ? WHERE token_hash = ?").run(scope, tokenHash);
  }

  delete(tokenHash: string): boolean {
    return this.db.prepare("DELETE FROM portal_sessions WHERE token_hash = ?").run(tokenHash).changes > 0;
  }

  /** Ends the user's sessions but `exceptTokenHash`; returns how many. */
  deleteForUser(userId: string, exceptTokenHash: string | null = null): number {
    return this.db.prepare("DELETE FROM portal_sessions WHERE user_id = ? AND token_hash IS NOT ?").run(userId, exceptTokenHash).changes;
  }

  /** Drops sessions that expired at or before `now` (ISO-8601); returns how many. */
  deleteExpired(now: string): number {
    return this.db.prepare("DELETE FROM portal_sessions WHERE expires_at <= ?").run(now).changes;
  }
}
