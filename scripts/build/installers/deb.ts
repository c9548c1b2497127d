import { chmod, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findTool, runTool } from "../tools.js";
import { readElfNeeds } from "./elf-needs.js";
import { debDepends } from "./linux-deps.js";
import { stageLinuxTree, type PackagedFile } from "./linux-tree.js";
import { debMaintainerScripts } from "./maintainer-scripts.js";
import { DESCRIPTION, MAINTAINER, PACKAGE_NAME, SUMMARY, type InstallerBuildOptions } from "./metadata.js";

/** `binary` is the linux-x64 or linux-arm64 agent. */
export interface LinuxPackageOptions extends InstallerBuildOptions {
  arch: "x64" | "arm64";
  /** gzip -1 instead of xz -6: for tests, several times faster and about 40 % bigger. */
  fast: boolean;
}

const DEB_ARCH = { x64: "amd64", arm64: "arm64" } as const;

/** tether-agent_VERSION_ARCH.deb, the name Debian tools give a package. */
export function debFileName(version: string, arch: "x64" | "arm64"): string {
  return `${PACKAGE_NAME}_${version}_${DEB_ARCH[arch]}.deb`;
}

/** Builds the .deb with dpkg-deb: files owned by root, the maintainer scripts of maintainer-scripts.ts. */
export async function buildDeb(options: LinuxPackageOptions): Promise<string> {
  const dpkgDeb = await findTool(["dpkg-deb"], "dpkg");
  const tree = join(options.workDir, `deb-${options.arch}`);
  await rm(tree, { recursive: true, force: true });
  try {
    const files = await stageLinuxTree(tree, options.binary, "deb");
    const control = join(tree, "DEBIAN");
    await mkdir(control);
    await chmod(control, 0o755);
    const depends = debDepends(await readElfNeeds(options.binary));
    await writeFile(join(control, "control"), await renderControl(options, depends, tree, files));
    await chmod(join(control, "control"), 0o644);
    for (const [name, script] of Object.entries(debMaintainerScripts())) {
      await writeFile(join(control, name), script);
      await chmod(join(control, name), 0o755);
    }
    const out = join(options.outDir, debFileName(options.version, options.arch));
    const compression = options.fast ? ["-Zgzip", "-z1"] : ["-Zxz", "-z6"];
    await runTool(dpkgDeb, ["--root-owner-group", ...compression, "--build", tree, out]);
    return out;
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}

async function renderControl(options: LinuxPackageOptions, depends: string, tree: string, files: readonly PackagedFile[]): Promise<string> {
  // Installed-Size in KiB, as dpkg-gencontrol counts it: each file rounded up, plus one per directory.
  let kib = 0;
  const dirs = new Set<string>();
  for (const file of files) {
    kib += Math.ceil((await stat(join(tree, file.path))).size / 1024);
    const parts = file.path.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  kib += dirs.size;
  return [
    `Package: ${PACKAGE_NAME}`,
    `Version: ${options.version}`,
    `Architecture: ${DEB_ARCH[options.arch]}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${kib}`,
    `Depends: ${depends}`,
    "Section: admin",
    "Priority: optional",
    `Description: ${SUMMARY}`,
    ...DESCRIPTION.map((line) => ` ${line}`),
    "",
  ].join("\n");
}
