import { createHash, timingSafeEqual } from "node:crypto";

/**
 * API keys and connect-key secrets are 256-bit random strings, so a plain SHA-256 is enough to store
 * them safely (no dictionary to attack); a slow hash would only slow down every request.
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
