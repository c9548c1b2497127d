import { createHash } from "node:crypto";
import { createReadStream, type Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";

/**
 * The files of the downloads directory: regular files directly inside its `agent/` and `installers/`
 * folders (the layout of the build's `dist/`), under one flat namespace of names. A name in `agent/`
 * hides the same name in `installers/`. Anything else is never served: other folders, hidden files,
 * names outside a strict pattern, the build's own `SHA256SUMS` (the catalog makes its own), `*.tmp`
 * files being written, and symbolic links that lead outside the directory. A directory that does not
 * exist is an empty catalog.
 *
 * Each file's SHA-256 is computed once per version of the file, as a stream, and kept by its path,
 * size, modification and change times and inode, so a 100 MB binary is not read again per request.
 */
export const DOWNLOAD_FOLDERS = ["agent", "installers"] as const;

/** Letters, digits and `._+~-`, starting with a letter or digit: no path separators, no `..`, no hidden files. */
export const DOWNLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,199}$/;

export interface CatalogFile {
  name: string;
  /** The file's real path, inside the downloads directory. */
  path: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
  /** `linux-x64`, `win-x64`, …, when the name says which OS and CPU the file is for. */
  target?: string;
}

export type FileHasher = (path: string) => Promise<string>;

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export class DownloadCatalog {
  private readonly hashes = new Map<string, { version: string; sha256: Promise<string> }>();

  /** `root` undefined: an empty catalog. `hashFile` is replaceable for tests that count the reads. */
  constructor(
    readonly root: string | undefined,
    private readonly hashFile: FileHasher = sha256OfFile,
  ) {}

  /** Every file, by name. Hashes what is new or changed, one file at a time. */
  async list(): Promise<CatalogFile[]> {
    const files = new Map<string, CatalogFile>();
    for (const folder of DOWNLOAD_FOLDERS) {
      for (const name of (await this.namesIn(folder)).sort()) {
        if (files.has(name)) continue;
        const file = await this.resolve(folder, name);
        if (file) files.set(name, file);
      }
    }
    return [...files.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The file with this name, if the catalog has one. */
  async find(name: string): Promise<CatalogFile | undefined> {
    for (const folder of DOWNLOAD_FOLDERS) {
      const file = await this.resolve(folder, name);
      if (file) return file;
    }
    return undefined;
  }

  private async namesIn(folder: string): Promise<string[]> {
    if (this.root === undefined) return [];
    try {
      return await readdir(join(this.root, folder));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  private async resolve(folder: string, name: string): Promise<CatalogFile | undefined> {
    if (this.root === undefined || !servable(name)) return undefined;
    let root: string;
    let path: string;
    try {
      root = await realpath(this.root);
      path = await realpath(join(this.root, folder, name));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    // Symbolic links are followed only as far as they stay inside the directory.
    if (!path.startsWith(root + sep)) return undefined;
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    const target = targetOf(name);
    return { name, path, size: info.size, sha256: await this.sha256(path, info), ...(target ? { target } : {}) };
  }

  private sha256(path: string, info: Stats): Promise<string> {
    const version = `${info.size}:${info.mtimeMs}:${info.ctimeMs}:${info.ino}`;
    const cached = this.hashes.get(path);
    if (cached?.version === version) return cached.sha256;
    // The promise is kept at once, so concurrent requests for a new file share one read of it.
    const sha256 = this.hashFile(path);
    this.hashes.set(path, { version, sha256 });
    sha256.catch(() => {
      if (this.hashes.get(path)?.sha256 === sha256) this.hashes.delete(path);
    });
    return sha256;
  }
}

function servable(name: string): boolean {
  return DOWNLOAD_NAME.test(name) && name !== "SHA256SUMS" && !name.endsWith(".tmp");
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

const token = (words: string) => new RegExp(`(?:^|[-_.])(?:${words})(?:[-_.]|$)`);
const OS_BY_NAME: readonly [string, RegExp][] = [
  ["linux", token("linux|deb|rpm")],
  ["win", token("win|windows|exe|msi")],
  ["darwin", token("darwin|macos|pkg")],
];
const ARCH_BY_NAME: readonly [string, RegExp][] = [
  ["x64", token("x64|x86_64|amd64")],
  ["arm64", token("arm64|aarch64")],
];

/** `tether-agent-linux-x64` → linux-x64, `tether-agent_0.1.0_arm64.deb` → linux-arm64; undefined unless both OS and CPU show. */
export function targetOf(name: string): string | undefined {
  const lower = name.toLowerCase();
  const os = OS_BY_NAME.find(([, pattern]) => pattern.test(lower))?.[0];
  const arch = ARCH_BY_NAME.find(([, pattern]) => pattern.test(lower))?.[0];
  return os && arch ? `${os}-${arch}` : undefined;
}
