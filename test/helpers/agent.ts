import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./control-plane.js";
import { atTestProcessExit } from "./at-exit.js";
import { runnerEnv, watchChild, type WatchedChild } from "./child.js";

/**
 * Runs the real agent (`agent/src/cli.ts`) as a child process. Nothing outlives the test run: an
 * 'exit' hook kills agents still running and removes their state dirs.
 */
const CLI = join(REPO_ROOT, "agent/src/cli.ts");
const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();

atTestProcessExit(() => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export interface TestAgent extends WatchedChild {
  stateDir: string;
}

export async function newStateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tether-agent-test-"));
  tempDirs.add(dir);
  return dir;
}

/** Runs `tether-agent <args>` (default subcommand `run`) with the state dir added. */
export async function startAgent(options: { args?: string[]; stateDir?: string; env?: Record<string, string> } = {}): Promise<TestAgent> {
  const stateDir = options.stateDir ?? (await newStateDir());
  const args = options.args ?? ["run"];
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args, "--state-dir", stateDir], {
    cwd: REPO_ROOT,
    env: { ...runnerEnv(), TETHER_LOG_LEVEL: "debug", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { stateDir, ...watchChild(child, running) };
}

/** Runs an agent command to completion (status, reset-identity, …) and returns its output. */
export async function runAgentCommand(args: string[], stateDir: string): Promise<{ code: number | null; output: string }> {
  const agent = await startAgent({ args, stateDir });
  const { code } = await agent.exited;
  return { code, output: agent.logs() };
}
