import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { REPO_ROOT } from "../helpers/control-plane.js";

/**
 * Helpers for the installer tests (test/packaging/installers-*.test.ts): the real
 * `npm run build:installers` script, always with --fast (gzip -1: xz -6 of a 100 MB binary takes
 * a minute of CPU), into the test's own directory.
 */

export const BUILD_SCRIPT = join(REPO_ROOT, "scripts/build/installers/build-installers.ts");

export async function buildInstallers(outDir: string, args: readonly string[]): Promise<string> {
  const result = await execa(process.execPath, ["--import", "tsx", BUILD_SCRIPT, "--fast", "--out", outDir, ...args], { cwd: REPO_ROOT, reject: false, all: true, stdin: "ignore" });
  if (result.exitCode !== 0) throw new Error(`build:installers ${args.join(" ")} failed (exit ${result.exitCode}):\n${result.all}`);
  return result.all;
}

/** `sha256sum -c SHA256SUMS` in `dir`; returns its output (every line "…: OK"). */
export async function verifyChecksums(dir: string): Promise<string> {
  const result = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`sha256sum -c failed:\n${result.all}`);
  return result.all;
}

/** Lines of a tab-separated `msiinfo export` table, without its three header lines, as arrays of columns. */
export function tableRows(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .slice(3)
    .filter((line) => line.length > 0)
    .map((line) => line.split("\t"));
}

/**
 * Temporary directories of one test file, removed by `removeAll` in its afterAll: they hold copies of
 * 100 MB binaries, and a worker that vitest ends does not always run exit hooks.
 */
export function tempDirs(): { make(prefix?: string): Promise<string>; removeAll(): Promise<void> } {
  const made: string[] = [];
  return {
    async make(prefix = "tether-installers-") {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    async removeAll() {
      await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
