import type { Db } from "./db.js";

export interface TotpRecord {
  userId: string;
  /** Sealed by the secret box, bound to the user id. */
  secretSealed: string;
  createdAt: string;
  /** Null while the enrollment is not confirmed with a code. */
  confirmedAt: string | null;
  /** The time step of the last code accepted; a code at or before it is a replay. */
  lastUsedStep: number | null;
}

/** Users' TOTP secrets (one each), sealed; see migration 005. */
export class MfaStore {
  constructor(private readonly db: Db) {}

  get(userId: string): TotpRecord | undefined {
    return this.db
      .prepare(
        `SELECT user_id AS userId, secret_sealed AS secretSealed, created_at AS createdAt, confirmed_at AS confirmedAt,
                last_used_step AS lastUsedStep
         FROM user_totp WHERE user_id = ?`,
      )
      .get(userId) as TotpRecord | undefined;
  }

  /** A new, unconfirmed secret, replacing any earlier one. */
  start(userId: string, secretSealed: string, at: string): void {
    this.db
      .prepare(
        `INSERT INTO user_totp (user_id, secret_sealed, created_at) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at,
                                             confirmed_at = NULL, last_used_step = NULL`,
      )
      .run(userId, secretSealed, at);
  }

  confirm(userId: string, step: number, at: string): void {
    this.db.prepare("UPDATE user_totp SET confirmed_at = ?, last_used_step = ? WHERE user_id = ?").run(at, step, userId);
  }

  /** Records an accepted code's step; false when a code of that step or a later one was already accepted. */
  useStep(userId: string, step: number): boolean {
    return (
      this.db.prepare("UPDATE user_totp SET last_used_step = ? WHERE user_id = ? AND (last_used_step IS NULL OR last_used_step < ?)").run(step, userId, step)
        .changes > 0
    );
  }

  delete(userId: string): void {
    this.db.prepare("DELETE FROM user_totp WHERE user_id = ?").run(userId);
  }
}
