import { spawn } from "node:child_process";
import { join } from "node:path";
import { runnerEnv } from "./child.js";
import { REPO_ROOT } from "./control-plane.js";

export interface CtlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = join(REPO_ROOT, "control-plane/src/ctl/cli.ts");

/**
 * Runs tetherctl as a real process with none of the runner's TETHER_* settings, only `env`. stdin is
 * `input`, or nothing; never a terminal, as in a script.
 */
export function runTetherctl(args: readonly string[], env: Record<string, string>, input?: string): Promise<CtlRun> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...runnerEnv(), ...env },
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (input !== undefined) child.stdin!.end(input);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
