import { mapWithConcurrency } from "./concurrency.js";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { adhocSign, removeSignature } from "./macho-adhoc-sign.js";
import { verifySignature } from "./macho.js";
import { bundleAgent } from "./bundle.js";
import { buildScriptsDigest } from "./inputs.js";
import { nodeBinary } from "./node-binary.js";
import { fixPeChecksum, parsePe } from "./pe.js";
import { injectBlob, makeSeaBlob } from "./sea.js";
import { BLOB_MAKER, NODE_VERSION, TARGETS, targetByName, type Target, type TargetName } from "./targets.js";
import { findTool, runTool } from "./tools.js";
import { removeAuthenticode, signAuthenticode, type SigningConfig } from "./windows-sign.js";

/** The code-signing identifier of the macOS binaries. */
export const MACOS_IDENTIFIER = "tether-agent";

export interface BuildOptions {
  /** The repository root. */
  root: string;
  /** Where the binaries and SHA256SUMS go (dist/agent). */
  outDir: string;
  targets: readonly Target[];
  /** Skip a target whose binary is what this build would make (same Node, SEA blob, build scripts and signing). */
  ifStale?: boolean;
  /** Where the Node.js binaries are cached after their first download. */
  cacheDir: string;
  /** Sign the Windows binary with this certificate. */
  signing?: SigningConfig;
  log?: (line: string) => void;
}

export interface BuiltBinary {
  target: Target;
  path: string;
  bytes: number;
  sha256: string;
  /** Seconds this target took (0 when it was up to date). */
  seconds: number;
  upToDate: boolean;
}

interface Stamp {
  /** What the binary was made from: see targetKey(). */
  key: string;
  version: string;
  sha256: string;
}

/**
 * Builds the native agent binaries: one bundle, one SEA blob per set of assets, then per target a copy
 * of that target's Node.js, prepared (stripped / unsigned), injected and signed. Writes SHA256SUMS for
 * every binary in `outDir` that is what this build would make. One build at a time per `outDir` (a lock
 * file), so tests and a developer can start builds at once.
 */
export async function buildAgentBinaries(options: BuildOptions): Promise<BuiltBinary[]> {
  const work = join(options.outDir, ".build");
  await mkdir(work, { recursive: true });
  return withLock(join(work, "lock"), options.log ?? (() => {}), () => build(options, work));
}

async function build(options: BuildOptions, work: string): Promise<BuiltBinary[]> {
  const log = options.log ?? (() => {});
  const version = (JSON.parse(await readFile(join(options.root, "package.json"), "utf8")) as { version: string }).version;
  const bundle = join(work, "agent.cjs");
  await bundleAgent({ entry: join(options.root, "agent/src/cli.ts"), outfile: bundle, version });
  const blobMaker = await nodeBinary(targetByName(BLOB_MAKER), options.cacheDir);
  const scripts = await buildScriptsDigest(options.root);
  const signingKey = options.signing ? `signed:${await sha256File(options.signing.pfx)}` : "unsigned";

  // One blob per distinct set of assets (the Windows binary also carries WinSW); blobs are cheap.
  const blobs = new Map<string, { path: string; sha256: string }>();
  const blobOf = async (target: Target) => {
    const assets = seaAssets(target, options.root);
    const id = JSON.stringify(assets);
    let blob = blobs.get(id);
    if (!blob) {
      const path = join(work, `agent-${blobs.size}.blob`);
      await makeSeaBlob({ main: bundle, output: path, node: blobMaker, workDir: work, assets });
      blob = { path, sha256: await sha256File(path) };
      blobs.set(id, blob);
    }
    return blob;
  };
  // Every target's key, for --if-stale and SHA256SUMS; a target that cannot be built here (its assets
  // missing) only fails the build when it was asked for.
  const keys = new Map<TargetName, string>();
  for (const target of TARGETS) {
    try {
      const blob = await blobOf(target);
      keys.set(target.name, targetKey(target, blob.sha256, scripts, target.os === "win" ? signingKey : "-"));
    } catch (error) {
      if (options.targets.includes(target)) throw error;
    }
  }
  log(`bundle ${(await stat(bundle)).size} bytes; ${blobs.size} SEA blob(s) made by Node ${NODE_VERSION}`);

  const results: BuiltBinary[] = [];
  const pending: Target[] = [];
  for (const target of options.targets) {
    const current = options.ifStale ? await upToDate(options.outDir, target, keys.get(target.name)!) : undefined;
    if (current) {
      log(`${target.name}: up to date`);
      results.push(current);
    } else {
      pending.push(target);
    }
  }

  const built = await mapWithConcurrency(pending, Math.min(2, availableParallelism()), async (target) => {
    const started = performance.now();
    const path = join(options.outDir, target.fileName);
    await buildOne(target, path, (await blobOf(target)).path, options);
    const sha256 = await sha256File(path);
    const stamp: Stamp = { key: keys.get(target.name)!, version, sha256 };
    await writeFile(join(work, `${target.name}.json`), JSON.stringify(stamp, null, 2) + "\n");
    const seconds = (performance.now() - started) / 1000;
    const bytes = (await stat(path)).size;
    log(`${target.name}: ${path} (${(bytes / 2 ** 20).toFixed(1)} MiB, ${seconds.toFixed(1)} s)`);
    return { target, path, bytes, sha256, seconds, upToDate: false };
  });
  results.push(...built);

  await writeChecksums(options.outDir, keys, log);
  return results;
}

/** Node version, blob (the bundled agent and its assets), build scripts and signing: a binary made from the same is the same. */
function targetKey(target: Target, blobSha256: string, scripts: string, signing: string): string {
  return createHash("sha256").update([target.name, NODE_VERSION, target.integrity, blobSha256, scripts, signing].join("\n")).digest("hex");
}

/**
 * Files a target's binary carries as SEA assets (read with `sea.getRawAsset(key)`): WinSW, the service
 * wrapper of the Windows binary (agent/src/service/executable.ts), from the node-windows package. Native
 * addons go here too when the agent needs one (agent/src/native/load-addon.ts).
 */
export function seaAssets(target: Target, root: string): Record<string, string> {
  if (target.os !== "win") return {};
  const winsw = join(root, "node_modules/node-windows/bin/winsw/winsw.exe");
  if (!existsSync(winsw)) throw new Error(`${winsw} is missing: the Windows binary carries WinSW from the node-windows package (npm ci)`);
  return { "winsw.exe": winsw };
}

async function buildOne(target: Target, path: string, blob: string, options: BuildOptions): Promise<void> {
  const node = await nodeBinary(target, options.cacheDir);
  const temporary = `${path}.tmp`;
  await rm(temporary, { force: true });
  try {
    if (target.os === "linux") {
      // Debug info and symbols are most of the Linux binaries' weight (≈ 18 MB); strip before the blob goes in.
      const strip = await findTool(target.arch === "x64" ? ["llvm-strip", "strip"] : ["llvm-strip", "aarch64-linux-gnu-strip"], target.arch === "x64" ? "llvm" : "llvm (or binutils-aarch64-linux-gnu)");
      await runTool(strip, ["-o", temporary, node]);
      await injectBlob(temporary, blob, "elf");
    } else if (target.os === "win") {
      await removeAuthenticode(node, temporary);
      await injectBlob(temporary, blob, "pe");
      const file = await readFile(temporary);
      if (parsePe(file).certificateTable.size !== 0) throw new Error(`${target.name}: a certificate table is still there after remove-signature`);
      fixPeChecksum(file);
      await writeFile(temporary, file);
      if (options.signing) await signAuthenticode(temporary, options.signing);
    } else {
      // Node's Developer ID signature would not survive the injection: drop it, inject, sign ad hoc.
      await writeFile(temporary, removeSignature(await readFile(node)));
      await injectBlob(temporary, blob, "macho");
      const signed = adhocSign(await readFile(temporary), MACOS_IDENTIFIER);
      const problems = verifySignature(signed);
      if (problems.length > 0) throw new Error(`${target.name}: the ad-hoc signature does not verify: ${problems.join("; ")}`);
      await writeFile(temporary, signed);
    }
    await chmod(temporary, 0o755);
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

async function upToDate(outDir: string, target: Target, key: string): Promise<BuiltBinary | undefined> {
  const path = join(outDir, target.fileName);
  const stamp = await readStamp(outDir, target);
  if (!existsSync(path) || stamp?.key !== key) return undefined;
  const sha256 = await sha256File(path);
  if (sha256 !== stamp.sha256) return undefined;
  return { target, path, bytes: (await stat(path)).size, sha256, seconds: 0, upToDate: true };
}

async function readStamp(outDir: string, target: Target): Promise<Stamp | undefined> {
  const path = join(outDir, ".build", `${target.name}.json`);
  return existsSync(path) ? (JSON.parse(await readFile(path, "utf8")) as Stamp) : undefined;
}

/** SHA256SUMS in `sha256sum -c` format, for the binaries this build would make; older ones are named and left out. */
async function writeChecksums(outDir: string, keys: Map<TargetName, string>, log: (line: string) => void): Promise<void> {
  const present = new Set(await readdir(outDir));
  const lines: string[] = [];
  for (const target of TARGETS) {
    if (!present.has(target.fileName)) continue;
    const stamp = await readStamp(outDir, target);
    const key = keys.get(target.name);
    if (!stamp || !key || stamp.key !== key) {
      log(`${target.fileName} is from older sources: left out of SHA256SUMS (rebuild it with --target ${target.name})`);
      continue;
    }
    lines.push(`${stamp.sha256}  ${target.fileName}`);
  }
  const path = join(outDir, "SHA256SUMS");
  await writeFile(`${path}.tmp`, lines.map((l) => l + "\n").join(""));
  await rename(`${path}.tmp`, path);
}

/** Runs `fn` holding a lock file; waits for a live holder, takes over from a dead one. */
async function withLock<T>(path: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      await writeFile(path, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(await readFile(path, "utf8").catch(() => ""));
      if (!holder || !isAlive(holder)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another build (pid ${holder}) holds ${path}`);
      if (!told) log(`waiting for another build (pid ${holder}) to finish`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

const LOCK_WAIT_MS = 15 * 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

