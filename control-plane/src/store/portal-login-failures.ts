import type { Db } from "./db.js";

/** Failed portal sign-ins in a row, per user, for the lock-out. */
export class PortalLoginFailureStore {
  constructor(private readonly db: Db) {}

  /** Counts one more failure; returns the count in a row, this one included. */
  add(userId: string, at: string): number {
    const row = this.db
      .prepare(
        `INSERT INTO portal_login_failures (user_id, failures, last_failure_at) VALUES (?, 1, ?)
         ON CONFLICT (user_id) DO UPDATE SET failures = failures + 1, last_failure_at = excluded.last_failure_at
         RETURNING failures`,
      )
      .get(userId, at) as { failures: number };
    return row.failures;
  }

  /** The run is over: a successful sign-in, or the lock-out it led to. */
  clear(userId: string): void {
    this.db.prepare("DELETE FROM portal_login_failures WHERE user_id = ?").run(userId);
  }
}
