import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { encrypt } from "unixcrypt";

/**
 * A user's password is kept twice, both computed the moment it is set (the plain password is never
 * stored): an scrypt hash for the user portal, and a SHA-512-crypt (`$6$`) hash that Linux devices
 * put in /etc/shadow as is.
 */
export interface PasswordHashes {
  /** `scrypt$N$r$p$SALT$HASH` (base64url): the parameters travel with the hash, so they can be raised later. */
  hash: string;
  /** `$6$rounds=N$SALT$HASH`, as crypt(3) makes it. */
  crypt: string;
}

/**
 * 32 MiB (2^15 × 8 × 128 bytes) and about 175 ms of one core per hash on a 2-core server. OWASP's
 * listed settings start at 2^15 with p = 3 (three times the time); that would make every portal
 * login and every imported password cost half a second. The parameters are in each hash, so they
 * can be raised without invalidating stored ones.
 */
const SCRYPT = { N: 32_768, r: 8, p: 1, keyLength: 32 };
const SCRYPT_MAX_MEMORY = 256 * 1024 * 1024;
/**
 * crypt(3)'s default, and what `openssl passwd -6` and mkpasswd make. The hash goes to devices, whose
 * PAM checks it at every login; unixcrypt computes it in JavaScript on this thread (≈30 ms).
 */
export const CRYPT_ROUNDS = 5000;
const CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export async function hashPassword(password: string): Promise<PasswordHashes> {
  return { hash: await scryptHash(password), crypt: sha512Crypt(password) };
}

/** True when `password` matches an `scrypt$…` hash made by hashPassword. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const expected = Buffer.from(parts[5]!, "base64url");
  const actual = await derive(password, Buffer.from(parts[4]!, "base64url"), { N, r, p, keyLength: expected.length });
  return timingSafeEqual(actual, expected);
}

export async function scryptHash(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  const key = await derive(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** SHA-512-crypt with a random 16-character salt (the most crypt(3) uses). */
export function sha512Crypt(password: string, salt: string = cryptSalt(), rounds: number = CRYPT_ROUNDS): string {
  return encrypt(password, `$6$rounds=${rounds}$${salt}`);
}

function cryptSalt(): string {
  // 256 is a multiple of 64, so every character is equally likely.
  return [...randomBytes(16)].map((byte) => CRYPT_ALPHABET[byte % 64]).join("");
}

function derive(password: string, salt: Buffer, params: typeof SCRYPT): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, params.keyLength, { N: params.N, r: params.r, p: params.p, maxmem: SCRYPT_MAX_MEMORY }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}
