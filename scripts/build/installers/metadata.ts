import { readFile } from "node:fs/promises";
import { LAUNCHD_LABEL } from "../../../agent/src/os/darwin/service-plist.js";
import { join } from "node:path";

/** What every installer says about itself. The version is package.json's, unless a build overrides it. */

export const PACKAGE_NAME = "tether-agent";
export const SUMMARY = "Tether agent: keeps this device managed by its Tether control plane";
/** The long description, in lines of at most 79 characters (Debian's rule). */
export const DESCRIPTION = [
  "The agent of Tether, a self-hosted device-management system. It holds one",
  "mutually authenticated connection to its control plane, reports inventory",
  "and runs the commands an admin sends. Give it a connect key when installing:",
  "CONNECT_KEY in the environment or in /etc/default/tether-agent.",
];
/** Package metadata needs a contact; a reserved domain until the project has a public address. */
export const MAINTAINER = "Tether maintainers <packaging@tether.invalid>";
export const VENDOR = "Tether";
export const LICENSE = "Apache-2.0";
/** The macOS package identifier, as the LaunchDaemon's label and the configuration profile's domain. */
export const MACOS_IDENTIFIER = LAUNCHD_LABEL;

/** What every installer build takes. */
export interface InstallerBuildOptions {
  /** The agent binary of the installer's target. */
  binary: string;
  version: string;
  outDir: string;
  /** Scratch space for the package tree (removed afterwards). */
  workDir: string;
}

export const KINDS = ["deb", "rpm", "msi", "pkg"] as const;
export type InstallerKind = (typeof KINDS)[number];

export async function packageVersion(root: string): Promise<string> {
  return (JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string }).version;
}

/** A version every package format accepts: digits and dots (MSI: at most three numbers below 256, 256, 65536). */
export function checkVersion(version: string): string {
  const parts = version.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^(0|[1-9]\d*)$/.test(p))) {
    throw new Error(`version "${version}": the installers take MAJOR.MINOR.PATCH with numbers only (no pre-release tags: MSI and rpm order them differently)`);
  }
  const [major, minor, patch] = parts.map(Number) as [number, number, number];
  if (major > 255 || minor > 255 || patch > 65535) throw new Error(`version "${version}": MSI versions are at most 255.255.65535`);
  return version;
}
