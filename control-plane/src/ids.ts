import { randomBytes } from "node:crypto";

// Crockford base32, lower case: ids sort by creation time (48-bit milliseconds first) and stay
// readable in logs and URLs, like ULIDs.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** A new id such as `dev_01jf…`: the prefix names the kind of object. */
export function newId(prefix: string, now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  const time = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i--) bytes[5 - i] = Math.floor(time / 2 ** (8 * i)) & 0xff;
  bytes.set(randomBytes(10), 6);
  return `${prefix}_${base32(bytes)}`;
}

/** A random secret of 32 bytes, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}
