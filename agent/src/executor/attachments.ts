import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import type { ExecutionSpec, RunAsAccount, RunHooks, ScriptHost } from "./types.js";

type Attachment = ExecutionSpec["files"][number];

export interface FetchedAttachment {
  path: string;
  data: Buffer;
}

/**
 * Downloads every attachment and checks its size and SHA-256. All are checked before any is placed, so
 * a bad file leaves the device as it was. Throws with the file and both hashes on a mismatch.
 */
export async function fetchAttachments(files: readonly Attachment[], hooks: RunHooks): Promise<FetchedAttachment[]> {
  if (files.length === 0) return [];
  const { fetchFile } = hooks;
  if (!fetchFile) throw new Error("the execution has attachments but the agent was given no way to download them");
  const fetched: FetchedAttachment[] = [];
  for (const file of files) {
    let data: Buffer;
    try {
      data = await fetchFile(file.sha256.toLowerCase());
    } catch (error) {
      throw new Error(`attachment ${file.path}: download failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const actual = createHash("sha256").update(data).digest("hex");
    if (actual !== file.sha256.toLowerCase() || data.length !== file.size) {
      throw new Error(
        `attachment ${file.path}: checksum mismatch: expected sha256 ${file.sha256.toLowerCase()} (${file.size} bytes), ` +
          `got ${actual} (${data.length} bytes)`,
      );
    }
    fetched.push({ path: file.path, data });
  }
  return fetched;
}

/**
 * Writes each file atomically (a temporary name in the same directory, then rename), 0644, with missing
 * parent directories created 0755; what it creates belongs to the account when that is not the agent.
 */
export async function placeAttachments(files: readonly FetchedAttachment[], account: RunAsAccount, host: ScriptHost): Promise<void> {
  for (const file of files) {
    try {
      await placeOne(file, account, host);
    } catch (error) {
      throw new Error(`attachment ${file.path}: could not be written: ${(error as Error).message}`);
    }
  }
}

async function placeOne(file: FetchedAttachment, account: RunAsAccount, host: ScriptHost): Promise<void> {
  const dir = host.path.dirname(file.path);
  for (const created of await makeParents(dir, host)) await host.giveTo(created, account);
  const temporary = host.path.join(dir, `.${host.path.basename(file.path)}.tether-${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(temporary, file.data, { mode: 0o644, flag: "wx" });
    // The mode given to writeFile is filtered by the agent's umask.
    await chmod(temporary, 0o644);
    await host.giveTo(temporary, account);
    await rename(temporary, file.path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Creates `dir` and any missing parents, 0755; returns the ones it created, outermost first. */
async function makeParents(dir: string, host: ScriptHost): Promise<string[]> {
  const first = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (first === undefined) return [];
  const created: string[] = [];
  for (let current = dir; ; current = host.path.dirname(current)) {
    created.unshift(current);
    if (current === first || host.path.dirname(current) === current) break;
  }
  for (const path of created) await chmod(path, 0o755);
  return created;
}
