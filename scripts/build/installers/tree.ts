import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";

/** `dir` and every directory from it down to `dir/path`, with mode 0755 whatever the umask: a package's directories are root's and world-readable. */
export async function mkdirs(dir: string, path: string): Promise<void> {
  let current = dir;
  await mkdir(current, { recursive: true });
  await chmod(current, 0o755);
  for (const part of path.split("/").filter(Boolean)) {
    current = join(current, part);
    await mkdir(current, { recursive: true });
    await chmod(current, 0o755);
  }
}
