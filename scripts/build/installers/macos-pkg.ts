import { createWriteStream } from "node:fs";
import { chmod, copyFile, lstat, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { execa } from "execa";
import mkbom from "mkbom";
import { xmlEscape } from "../../../agent/src/service/xml.js";
import { findTool, runTool } from "../tools.js";
import { macosLayout, renderMacosPostinstall } from "./macos-postinstall.js";
import { MACOS_IDENTIFIER, PACKAGE_NAME, type InstallerBuildOptions } from "./metadata.js";
import { mkdirs } from "./tree.js";

/**
 * A flat component package (what `pkgbuild` makes), built on Linux: a xar archive of
 * - Payload: cpio (odc, every entry owned by 0:0) | gzip of the files, relative to install-location /;
 * - Scripts: the same of `postinstall`;
 * - Bom: the bill of materials Installer checks the payload against (npm mkbom);
 * - PackageInfo: identifier, version, payload size, scripts.
 * Unsigned: `productsign` and notarization need a Mac (docs/packaging.md).
 */

/** `binary` is the darwin-x64 or darwin-arm64 agent. */
export interface PkgOptions extends InstallerBuildOptions {
  arch: "x64" | "arm64";
  /** gzip -1 instead of -9. */
  fast: boolean;
}

export function pkgFileName(version: string, arch: "x64" | "arm64"): string {
  return `${PACKAGE_NAME}-${version}-darwin-${arch}.pkg`;
}

export async function buildMacosPkg(options: PkgOptions): Promise<string> {
  const [bsdtar, cpio] = [await findTool(["bsdtar"], "libarchive-tools"), await findTool(["cpio"], "cpio")];
  const dir = join(options.workDir, `pkg-${options.arch}`);
  await rm(dir, { recursive: true, force: true });
  try {
    const payload = join(dir, "payload");
    const scripts = join(dir, "scripts");
    const flat = join(dir, "flat");
    await mkdir(flat, { recursive: true });

    const installed = macosLayout().binary;
    const binary = join(payload, installed);
    await mkdirs(payload, dirname(installed));
    await copyFile(options.binary, binary);
    await chmod(binary, 0o755);
    await mkdirs(scripts, "/");
    await writeFile(join(scripts, "postinstall"), renderMacosPostinstall());
    await chmod(join(scripts, "postinstall"), 0o755);

    const level = options.fast ? 1 : 9;
    const entries = await cpioGzip(cpio, payload, join(flat, "Payload"), level);
    await cpioGzip(cpio, scripts, join(flat, "Scripts"), level);
    await pipeline(mkbom(payload, { uid: 0, gid: 0 }), createWriteStream(join(flat, "Bom")));
    await writeFile(join(flat, "PackageInfo"), renderPackageInfo(options.version, entries.count, entries.kbytes));

    const out = join(options.outDir, pkgFileName(options.version, options.arch));
    await rm(out, { force: true });
    // The members are compressed already (gzip) or tiny: xar stores them as they are.
    await runTool(bsdtar, ["--format", "xar", "--options", "xar:compression=none,xar:toc-checksum=sha1", "-cf", out, "-C", flat, "Bom", "PackageInfo", "Payload", "Scripts"]);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function renderPackageInfo(version: string, numberOfFiles: number, installKBytes: number): string {
  // overwrite-permissions="false": /usr/local/bin may belong to someone else (Homebrew on Intel Macs);
  // the payload's directories must not take it over.
  return `<?xml version="1.0" encoding="utf-8"?>
<pkg-info format-version="2" identifier="${MACOS_IDENTIFIER}" version="${xmlEscape(version)}" install-location="/" auth="root" overwrite-permissions="false" relocatable="false" postinstall-action="none">
  <payload numberOfFiles="${numberOfFiles}" installKBytes="${installKBytes}"/>
  <bundle-version/>
  <upgrade-bundle/>
  <update-bundle/>
  <atomic-update-bundle/>
  <strict-identifier/>
  <relocate/>
  <scripts>
    <postinstall file="./postinstall"/>
  </scripts>
</pkg-info>
`;
}

/** Writes `dir` as cpio odc (owner 0:0) | gzip to `out`; returns the number of entries and the KiB of the files. */
async function cpioGzip(cpio: string, dir: string, out: string, level: number): Promise<{ count: number; kbytes: number }> {
  const entries = await walk(dir, ".");
  const list = entries.map((e) => e.path).join("\n") + "\n";
  const archiver = execa(cpio, ["-o", "--quiet", "--format", "odc", "--owner", "0:0", "--reproducible"], { cwd: dir, input: list, buffer: { stdout: false } });
  await Promise.all([pipeline(archiver.stdout, createGzip({ level }), createWriteStream(out)), archiver]);
  return { count: entries.length, kbytes: entries.reduce((sum, e) => sum + Math.ceil(e.size / 1024), 0) };
}

/** `.` and everything below it, parents before children, in a stable order. */
async function walk(root: string, relative: string): Promise<Array<{ path: string; size: number }>> {
  const local = join(root, relative);
  const info = await lstat(local);
  const here = [{ path: relative, size: info.isFile() ? info.size : 0 }];
  if (!info.isDirectory()) return here;
  const names = (await readdir(local)).sort();
  for (const name of names) here.push(...(await walk(root, `${relative}/${name}`)));
  return here;
}
