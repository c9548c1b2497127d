import { execa } from "execa";

/**
 * Runs a build tool and returns its stdout. A failure throws one error that names the command and carries
 * what the tool printed, so the build stops with the tool's own words.
 */
export async function runTool(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const result = await execa(file, args, { cwd: options.cwd, env: options.env, reject: false, all: true, stdin: "ignore" });
  if (result.exitCode !== 0 || result.failed) {
    const why = result.exitCode === undefined ? (result.signal ?? result.shortMessage) : `exit code ${result.exitCode}`;
    throw new Error(`${[file, ...args].join(" ")} failed (${why}):\n${(result.all ?? "").trim()}`);
  }
  return result.stdout;
}

/** The first of `names` found on the PATH, or an error that says which Debian package brings one. */
export async function findTool(names: readonly string[], debianPackage: string): Promise<string> {
  for (const name of names) {
    const found = await execa("sh", ["-c", 'command -v "$1"', "sh", name], { reject: false });
    if (found.exitCode === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  throw new Error(`none of ${names.join(", ")} is installed (apt-get install ${debianPackage})`);
}
