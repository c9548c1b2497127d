import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { RunAsAccount, ScriptFile, ScriptHost } from "./types.js";

export interface ScriptDir {
  dir: string;
  scriptPath: string;
}

/**
 * A fresh private directory holding the script: 0700 and the script 0700, both handed to the account
 * when it is not the agent's own, so that user and nobody else (besides root) can read it.
 */
export async function createScriptDir(executionId: string, script: ScriptFile, account: RunAsAccount, host: ScriptHost): Promise<ScriptDir> {
  await mkdir(host.tempBase, { recursive: true, mode: 0o700 });
  // The id is only a readable hint for whoever lists the directory; mkdtemp adds the uniqueness.
  const dir = await mkdtemp(host.path.join(host.tempBase, `tether-exec-${executionId.replace(/[^A-Za-z0-9_-]/g, "_")}-`));
  try {
    await chmod(dir, 0o700);
    const scriptPath = host.path.join(dir, script.name);
    await writeFile(scriptPath, script.data, { mode: 0o700, flag: "wx" });
    await chmod(scriptPath, 0o700);
    await host.giveTo(scriptPath, account);
    await host.giveTo(dir, account);
    return { dir, scriptPath };
  } catch (error) {
    await removeScriptDir(dir);
    throw error;
  }
}

/** Best effort and never throws: a leftover temp directory must not turn a finished run into an error. */
export async function removeScriptDir(dir: string): Promise<void> {
  // Retries cover Windows, where a file stays locked for a moment after its process ends.
  await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
}
