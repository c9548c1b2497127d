import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Writes a file atomically and durably: a temp file beside it, flushed, renamed over the old one, and
 * the directory flushed too, since the rename lives in the directory and is otherwise lost with a
 * power cut for seconds after it (ext4, XFS). A crash leaves the old or the new content, never half of
 * one: the identity must not be corrupted by a power cut mid-renewal, and an execution's `starting`
 * entry must outlive one, or the execution could run again.
 * `flush: false` skips the fsync before the rename, for writes whose loss is harmless: a process crash
 * still leaves old or new, but after a power cut the file may be empty or torn, so its reader must
 * cope with that.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o600, { flush = true }: { flush?: boolean } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temp, content, { mode, flush });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (flush) await syncDirectory(dirname(path));
}

async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for flushing; NTFS journals the rename itself.
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
