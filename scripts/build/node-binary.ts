import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { NODE_VERSION, type Target } from "./targets.js";
import { runTool } from "./tools.js";

/**
 * The official Node.js binary for a target, taken from its npm package and cached under `cacheDir`.
 *
 * Why `npm pack` and not devDependencies: each package declares `os`/`cpu`, so `npm ci` refuses the four
 * that do not match the machine (EBADPLATFORM), and the one that matches would put a Node 22 `node` on
 * the PATH of every npm script. `npm pack` fetches the tarball through npm's own cache (so a second build
 * is offline), runs no install scripts, and the tarball is checked against the integrity pinned in
 * targets.ts before anything is extracted.
 */
export async function nodeBinary(target: Target, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, `node-v${NODE_VERSION}-${target.name}`);
  const binary = join(dir, basename(target.binaryInTarball));
  if (await isCached(dir, binary, target)) return binary;

  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, ".fetch-"));
  try {
    const spec = `${target.npmPackage}@${NODE_VERSION}`;
    const packed = JSON.parse(await runTool("npm", ["pack", spec, "--pack-destination", work, "--json", "--ignore-scripts", "--prefer-offline"], { cwd: work })) as { filename: string }[];
    const tarball = join(work, packed[0]!.filename);
    const integrity = `sha512-${createHash("sha512").update(await readFile(tarball)).digest("base64")}`;
    if (integrity !== target.integrity) throw new Error(`${spec}: the tarball's integrity ${integrity} is not the pinned ${target.integrity}`);
    await runTool("tar", ["-xzf", tarball, "-C", work, target.binaryInTarball]);
    // Complete the directory aside, then move it into place in one rename: another build fetching the
    // same target at the same time either wins that rename or finds a complete directory.
    const ready = join(work, "ready");
    await mkdir(ready);
    await rename(join(work, target.binaryInTarball), join(ready, basename(binary)));
    await chmod(join(ready, basename(binary)), 0o755);
    await writeFile(join(ready, MARKER), target.integrity);
    if (existsSync(dir) && !(await isCached(dir, binary, target))) await rm(dir, { recursive: true, force: true });
    try {
      await rename(ready, dir);
    } catch (error) {
      if (!(await isCached(dir, binary, target))) throw error;
    }
    return binary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const MARKER = ".integrity";

async function isCached(dir: string, binary: string, target: Target): Promise<boolean> {
  const marker = join(dir, MARKER);
  return existsSync(binary) && existsSync(marker) && (await readFile(marker, "utf8")) === target.integrity;
}
