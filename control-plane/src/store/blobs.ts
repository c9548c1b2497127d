import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

/** Uploaded file contents, stored once per SHA-256 under DATA/files/. */
export class BlobStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Stores the bytes (atomically) and returns their SHA-256. */
  put(bytes: Buffer): string {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const path = this.path(sha256);
    if (existsSync(path)) return sha256;
    const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      writeFileSync(temp, bytes, { mode: 0o600, flush: true });
      renameSync(temp, path);
    } finally {
      rmSync(temp, { force: true });
    }
    return sha256;
  }

  path(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error("not a SHA-256");
    return join(this.dir, sha256);
  }

  has(sha256: string): boolean {
    return existsSync(this.path(sha256));
  }
}
