import type { Db } from "./db.js";

export interface ActivationToken {
  userId: string;
  expiresAt: string;
  usedAt: string | null;
}

/** One-time activation tokens, by the SHA-256 of the token (services/hashing.ts). */
export class ActivationTokenStore {
  constructor(private readonly db: Db) {}

  insert(token: { tokenHash: string; userId: string; createdAt: string; expiresAt: string }): void {
    this.db
      .prepare("INSERT INTO activation_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .run(token.tokenHash, token.userId, token.createdAt, token.expiresAt);
  }

  get(tokenHash: string): ActivationToken | undefined {
    return this.db
      .prepare("SELECT user_id AS userId, expires_at AS expiresAt, used_at AS usedAt FROM activation_tokens WHERE token_hash = ?")
      .get(tokenHash) as ActivationToken | undefined;
  }

  /** Marks the token used; false when it already was, so two redemptions racing cannot both win. */
  use(tokenHash: string, at: string): boolean {
    return this.db.prepare("UPDATE activation_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL").run(at, tokenHash).changes > 0;
  }

  /** Drops the user's tokens not yet used: a new link, or a password set another way, ends the old links. */
  revokeUnused(userId: string): void {
    this.db.prepare("DELETE FROM activation_tokens WHERE user_id = ? AND used_at IS NULL").run(userId);
  }
}
