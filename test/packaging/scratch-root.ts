import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

/**
 * A root directory that programs can be chrooted into (rpm's scriptlets, a macOS postinstall), made
 * without touching this machine: in a private mount namespace (`unshare --mount`), the machine's /usr
 * is mounted at ROOT/usr as the lower layer of an overlay whose upper layer is a temporary directory, so
 * whatever is installed into ROOT/usr lands there; bin, sbin, lib and lib64 are symbolic links into
 * usr (a merged /usr), and etc, var, tmp are the root's own. /dev and /proc are bound in for the
 * programs that need them. The mounts end with the namespace, i.e. with each command. Needs root.
 */
export interface ScratchRoot {
  /** The root directory (its usr is only populated while a command runs). */
  dir: string;
  /** Where files written to ROOT/usr end up. */
  upper: string;
  /**
   * Runs `command` (on this machine's filesystem) with the overlay mounted, with PATH and `env` only as
   * its environment; use ["chroot", dir, …] to run inside.
   */
  run(command: readonly string[], options?: { env?: Record<string, string> }): Promise<{ exitCode: number | undefined; all: string }>;
}

// Fixed script; the paths arrive as arguments, never inside the script text.
const MOUNT_AND_RUN = `set -e
root=$1 upper=$2 work=$3
shift 3
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$upper,workdir=$work" "$root/usr"
mount --bind /dev "$root/dev"
mount -t proc proc "$root/proc"
exec "$@"
`;

/** Makes the scratch root in `base`, an empty directory of the caller's (who removes it). */
export async function scratchRoot(base: string): Promise<ScratchRoot> {
  const dir = join(base, "root");
  const upper = join(base, "upper");
  const work = join(base, "work");
  for (const path of [upper, work, ...["usr", "etc", "var/tmp", "var/lib", "tmp", "run", "dev", "proc"].map((d) => join(dir, d))]) {
    await mkdir(path, { recursive: true });
  }
  await chmod(join(dir, "tmp"), 0o1777);
  await chmod(join(dir, "var/tmp"), 0o1777);
  for (const name of ["bin", "sbin", "lib", "lib64"]) {
    if (existsSync(`/usr/${name}`)) await symlink(`usr/${name}`, join(dir, name));
  }
  // User and group names for the tools that look them up (rpm: root).
  for (const file of ["passwd", "group"]) await copyFile(`/etc/${file}`, join(dir, "etc", file));
  return {
    dir,
    upper,
    async run(command, options = {}) {
      const args = ["--mount", "--propagation", "private", "sh", "-c", MOUNT_AND_RUN, "sh", dir, upper, work, ...command];
      // Only PATH and the given variables: no CONNECT_KEY or the like from the test runner's environment.
      const env = { PATH: process.env.PATH!, ...options.env };
      const result = await execa("unshare", args, { env, extendEnv: false, reject: false, all: true, stdin: "ignore" });
      return { exitCode: result.exitCode, all: result.all };
    },
  };
}
