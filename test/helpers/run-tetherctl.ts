import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./control-plane.js";

export interface CtlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = join(REPO_ROOT, "control-plane/src/ctl/cli.ts");

/**
 * Runs tetherctl as a real process with none of the runner's TETHER_* settings, only `env`. stdin is
 * not a terminal, as in a script.
 */
export function runTetherctl(args: readonly string[], env: Record<string, string>): Promise<CtlRun> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TETHER_")));
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
