import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seaApi } from "../sea/runtime.js";

/**
 * Loads a native addon (a `.node` file) in the native agent binary and from source alike.
 *
 * A single executable cannot `require` a `.node` file: the build embeds it as a SEA asset instead
 * (`assets` in the SEA config), and here it is written to a private directory named by the SHA-256 of
 * its contents, `<baseDir>/native/<sha256>/`, and loaded with `process.dlopen`. Files the addon needs
 * beside it (node-pty's `spawn-helper` on macOS) are written to the same directory, and the hash covers
 * them all, so one build's files never mix with another's. From source, the addon is `require`d from
 * node_modules as usual.
 *
 * The directories are 0700 and must belong to this user: a directory that someone else made, or a
 * symbolic link, is refused rather than trusted, because whatever is in it gets loaded into the agent.
 * A file already there is used only if its contents still hash right; otherwise it is written again
 * (through a temporary file and a rename, so a concurrent or interrupted writer never leaves half a file).
 */

export interface AddonFile {
  /** The SEA asset key (e.g. "pty.node"). */
  asset: string;
  /** The file name in the extraction directory. */
  fileName: string;
  /** Make it executable (a helper the addon starts, such as spawn-helper). */
  executable?: boolean;
}

export interface NativeAddon<T> {
  /** The addon itself. */
  addon: AddonFile;
  /** Files that must sit next to the addon. */
  companions?: AddonFile[];
  /** Outside a SEA: load it from node_modules, e.g. `() => require("node-pty/build/Release/pty.node")`. */
  fromNodeModules: () => T;
}

/** Where asset bytes come from: `node:sea` in the binary; tests pass their own. */
export interface AssetSource {
  getRawAsset(key: string): ArrayBuffer | string;
}

export interface LoadAddonOptions {
  /**
   * The directory under which `native/<sha256>/` is made: the agent's state dir, or a base of the
   * caller's that only this user can write to (not a shared temp dir itself).
   */
  baseDir: string;
  /** Default: the SEA's own assets when running as a SEA; without a source the addon comes from node_modules. */
  assets?: AssetSource;
  /** Default: `process.dlopen`. */
  dlopen?: (module: { exports: unknown }, filename: string) => void;
}

export function loadNativeAddon<T>(addon: NativeAddon<T>, options: LoadAddonOptions): T {
  const assets = options.assets ?? seaApi();
  if (!assets) return addon.fromNodeModules();
  const dir = extractAssets([addon.addon, ...(addon.companions ?? [])], assets, options.baseDir);
  const module = { exports: {} as unknown };
  (options.dlopen ?? process.dlopen)(module, join(dir, addon.addon.fileName));
  return module.exports as T;
}

/** Writes the assets into `<baseDir>/native/<sha256 of them all>/` (if not there already) and returns that directory. */
export function extractAssets(files: readonly AddonFile[], assets: AssetSource, baseDir: string): string {
  const contents = files.map((file) => {
    if (!/^[\w.-]+$/.test(file.fileName) || file.fileName.startsWith(".")) throw new Error(`unsafe addon file name "${file.fileName}"`);
    let raw: ArrayBuffer | string;
    try {
      raw = assets.getRawAsset(file.asset);
    } catch (error) {
      throw new Error(`the binary has no asset "${file.asset}" (${(error as Error).message})`);
    }
    const bytes = typeof raw === "string" ? Buffer.from(raw, "utf8") : Buffer.from(raw);
    return { ...file, bytes, sha256: sha256(bytes) };
  });
  const key = sha256(Buffer.from(contents.map((c) => `${c.fileName}\0${c.executable ? "x" : "-"}\0${c.sha256}\n`).join("")));

  const dir = join(privateDir(join(privateDir(baseDir, false), "native"), true), key);
  privateDir(dir, true);
  for (const file of contents) {
    const path = join(dir, file.fileName);
    const mode = file.executable ? 0o700 : 0o600;
    if (existsSync(path) && isRegularFileOfOurs(path) && sha256(readFileSync(path)) === file.sha256) {
      chmodSync(path, mode);
      continue;
    }
    const temporary = join(dir, `.${file.fileName}.${process.pid}.${randomBytes(4).toString("hex")}`);
    try {
      writeFileSync(temporary, file.bytes, { mode, flag: "wx" });
      renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
  }
  return dir;
}

/**
 * Makes `dir` (0700) if missing and checks it is a real directory of this user's; `strict` also
 * requires that nobody else can write to it (tightening the mode of a directory we own).
 */
function privateDir(dir: string, strict: boolean): string {
  try {
    mkdirSync(dir, { recursive: !strict, mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error; // made meanwhile by another process: checked below
  }
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw new Error(`${dir} is not a directory (a symbolic link or a file is not trusted)`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) throw new Error(`${dir} belongs to uid ${stat.uid}, not to this user (${uid}): not trusted`);
  if (strict && (stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

function isRegularFileOfOurs(path: string): boolean {
  const stat = lstatSync(path);
  const uid = process.getuid?.();
  return stat.isFile() && (uid === undefined || stat.uid === uid);
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
