import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../identity/files.js";

/**
 * Where a file of the target system lives on this machine: itself, or under `root` for an install into
 * a scratch root (tests, packaging, an image mounted at a build host). Windows paths lose their drive
 * letter there ("C:\Program Files\Tether\x" → ROOT/Program Files/Tether/x).
 */
export function underRoot(root: string | undefined, targetPath: string): string {
  if (!root) return targetPath;
  return join(root, ...targetPath.replace(/^[A-Za-z]:/, "").split(/[\\/]+/).filter(Boolean));
}

/**
 * Copies an executable into place atomically: a temp file beside it, then rename. Renaming over a
 * running binary is allowed on Linux and macOS (the running process keeps the old inode), so an
 * upgrade can replace the binary of the agent that runs it.
 */
export async function installExecutable(source: string | Buffer, destination: string): Promise<void> {
  await mkdir(dirname(destination), { recursive: true, mode: 0o755 });
  const temp = `${destination}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    if (typeof source === "string") await copyFile(source, temp);
    else await writeFile(temp, source, { mode: 0o755, flush: true });
    await chmod(temp, 0o755);
    await rename(temp, destination);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Writes a world-readable definition file (unit, plist, XML) atomically. */
export async function writeDefinitionFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFileAtomic(path, content, 0o644);
}
