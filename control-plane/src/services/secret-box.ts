import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

/**
 * Secrets encrypted at rest (DESIGN.md, principle 5): AES-256-GCM under one data key kept beside the
 * CA key, in `DATA/pki/data.key` (mode 0600, made on first use). A sealed value reads
 * `v1.IV.CIPHERTEXT.TAG` (base64url) and is bound to its `context` (e.g. the user id it belongs to)
 * as associated data, so a value copied to another row does not open. Without the key file the
 * database's secrets cannot be read: back the two up together.
 */
export class SecretBox {
  private key: Buffer | undefined;

  /** `keyFile` undefined: no data key was configured (tests of other things), and sealing or opening throws. */
  constructor(private readonly keyFile: string | undefined) {}

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.dataKey(), iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === "string" ? part : part.toString("base64url"))).join(".");
  }

  /** Throws SecretBoxError when the value was altered, belongs to another context, or was sealed under another key. */
  open(sealed: string, context: string): string {
    const [version, iv, ciphertext, tag, ...rest] = sealed.split(".");
    if (version !== VERSION || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) {
      throw new SecretBoxError("not a sealed secret (expected v1.IV.CIPHERTEXT.TAG)");
    }
    const key = this.dataKey();
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      decipher.setAAD(Buffer.from(context, "utf8"));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretBoxError(`the sealed secret did not authenticate: it was altered, belongs to something else, or was sealed under another data key than ${this.keyFile ?? "this one"}`);
    }
  }

  /** Reads the key, or makes it: created exclusively (two processes cannot both write one), 0600 from the first byte. */
  private dataKey(): Buffer {
    if (this.key) return this.key;
    if (this.keyFile === undefined) throw new SecretBoxError("no data key file is configured, so secrets can be neither sealed nor opened");
    let text: string;
    try {
      text = readFileSync(this.keyFile, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      mkdirSync(dirname(this.keyFile), { recursive: true, mode: 0o700 });
      text = randomBytes(KEY_BYTES).toString("base64") + "\n";
      try {
        writeFileSync(this.keyFile, text, { mode: 0o600, flag: "wx" });
        chmodSync(this.keyFile, 0o600);
      } catch (writeError) {
        // Another process made it first: use theirs.
        if ((writeError as NodeJS.ErrnoException).code !== "EEXIST") throw writeError;
        text = readFileSync(this.keyFile, "utf8");
      }
    }
    const key = Buffer.from(text.trim(), "base64");
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`${this.keyFile} does not hold a ${KEY_BYTES}-byte base64 key`);
    this.key = key;
    return key;
  }
}
