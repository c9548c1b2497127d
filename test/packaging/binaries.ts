import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { REPO_ROOT } from "../helpers/control-plane.js";
import { targetByName, type TargetName } from "../../scripts/build/targets.js";
import { atTestProcessExit } from "../helpers/at-exit.js";
import { runnerEnv, watchChild, type WatchedChild } from "../helpers/child.js";

/**
 * Helpers for the tests of the native agent binaries (test/e2e/binary-*.test.ts).
 *
 * `ensureBinaries` runs the real `npm run build:agent` script with --if-stale, so a binary that is
 * already what the build would make is not built again (a second test run, or a developer's earlier
 * build). The build holds a lock, so test files that build different targets at once take turns.
 */

export const DIST = join(REPO_ROOT, "dist/agent");
/** Generous: all five targets take about a minute of CPU; a first run also downloads the Node binaries. */
export const BUILD_TIMEOUT_MS = 10 * 60_000;

export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

export async function ensureBinaries(targets: readonly TargetName[]): Promise<Record<string, string>> {
  const args = ["--import", "tsx", join(REPO_ROOT, "scripts/build/build-agent.ts"), "--if-stale", ...targets.flatMap((t) => ["--target", t])];
  const result = await execa(process.execPath, args, { cwd: REPO_ROOT, reject: false, all: true, stdin: "ignore" });
  if (result.exitCode !== 0) throw new Error(`build:agent ${targets.join(" ")} failed (exit ${result.exitCode}):\n${result.all}`);
  return Object.fromEntries(targets.map((t) => [t, join(DIST, targetByName(t).fileName)]));
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
atTestProcessExit(() => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export async function tempDir(prefix = "tether-binary-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export type BinaryProcess = WatchedChild;

/** Starts a binary (directly, or through `launcher`, e.g. qemu) with the runner's TETHER_* variables dropped. */
export function startBinary(command: string, args: readonly string[], options: { env?: Record<string, string> } = {}): BinaryProcess {
  return watchChild(spawn(command, args, { env: { ...runnerEnv(), ...options.env }, stdio: ["ignore", "pipe", "pipe"] }), running);
}
