/**
 * `npm run bench:binaries`: what the native agent binaries in dist/agent cost (build them first with
 * `npm run build:agent`).
 *  - Size per target: raw, xz (level 6, as `dpkg-deb -Zxz` and `tar -cJ` use), gzip -9.
 *  - Start time of the linux-x64 binary: `tether-agent --version`, 20 runs after 3 warm-ups (hyperfine
 *    when installed, otherwise a timed loop), next to the agent run from source.
 *  - Idle cost of the linux-x64 binary connected to a local control plane: RSS and anonymous memory
 *    after one minute, and the CPU time it uses from then until --idle seconds (default 10 minutes).
 * Writes the figures to docs/benchmarks.md between `<!-- bench:binaries -->` markers.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import { execa } from "execa";
import { runCli } from "../../shared/src/cli/run-cli.js";
import { machineDescription, replaceSection } from "../bench/machine.js";
import { startServerProcess, stopServerProcess } from "../bench/server-process.js";
import { ensureInitialised } from "../sim/fleet.js";
import { TARGETS } from "./targets.js";

const ROOT = resolve(import.meta.dirname, "../..");
const DIST = join(ROOT, "dist/agent");
const PORT = 18_611;
const RUNS = 20;

const program = new Command("bench:binaries")
  .option("--idle <seconds>", "how long the connected agent idles (its memory is read at 60 s, its CPU counted from then on)", "600")
  .option("--dir <dir>", "benchmark state", join(ROOT, ".bench/binaries"))
  .option("--no-write", "do not update docs/benchmarks.md")
  .action(async (options: { idle: string; dir: string; write: boolean }) => {
    const lines: string[] = ["## Native agent binaries", "", `\`npm run bench:binaries\`, measured ${new Date().toISOString().slice(0, 10)} on ${machineDescription()}.`, ""];

    const sums = readFileSync(join(DIST, "SHA256SUMS"), "utf8");
    lines.push("| target | raw (MB) | xz -6 (MB) | gzip -9 (MB) |", "|---|---:|---:|---:|");
    for (const target of TARGETS) {
      const path = join(DIST, target.fileName);
      if (!sums.includes(`  ${target.fileName}\n`)) {
        console.log(`${target.fileName}: not built from the current sources; skipped`);
        continue;
      }
      const raw = (await stat(path)).size;
      const [xz, gz] = await Promise.all([compressedSize("xz", ["-6", "-c", "-T1", path]), compressedSize("gzip", ["-9", "-c", path])]);
      lines.push(`| ${target.name} | ${mb(raw)} | **${mb(xz)}** | ${mb(gz)} |`);
      console.log(lines.at(-1));
    }

    const binary = join(DIST, "tether-agent-linux-x64");
    if (existsSync(binary)) {
      const fromBinary = await startTime([binary, "--version"]);
      const fromSource = await startTime([process.execPath, "--import", "tsx", join(ROOT, "agent/src/cli.ts"), "--version"]);
      lines.push(
        "",
        `Start (\`tether-agent --version\`, linux-x64, file in the page cache, ${RUNS} runs after 3 warm-ups, ${fromBinary.tool}, ` +
          `1-minute load average ${loadavg()[0]!.toFixed(1)}): **${fromBinary.meanMs.toFixed(0)} ms** mean (min ${fromBinary.minMs.toFixed(0)} ms), ` +
          `${fromBinary.cpuMs.toFixed(0)} ms of CPU; the agent from source with tsx: ${fromSource.meanMs.toFixed(0)} ms (${fromSource.cpuMs.toFixed(0)} ms of CPU).`,
      );
      console.log(lines.at(-1));
      const idle = await idleCost(binary, resolve(options.dir), Number(options.idle));
      lines.push(
        "",
        `Idle, connected to a control plane on 127.0.0.1 (enrolled at start, default heartbeat and inventory interval): after 60 s RSS **${idle.rssMiB.toFixed(1)} MiB**, ` +
          `anonymous **${idle.anonMiB.toFixed(1)} MiB** (goal ≤ 25 MB); from 60 s to ${options.idle} s it used ${idle.cpuSeconds.toFixed(2)} s of CPU ` +
          `(counted in 10 ms ticks): **${idle.cpuPercent.toFixed(3)} %** of one core (goal ≤ 0.2 %).`,
      );
      console.log(lines.at(-1));
    }

    if (options.write) {
      const path = join(ROOT, "docs/benchmarks.md");
      const document = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
      writeFileSync(path, replaceSection(document, "bench:binaries", lines.join("\n")));
      console.log(`wrote ${path}`);
    }
  });

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

async function compressedSize(tool: string, args: string[]): Promise<number> {
  const child = execa(tool, args, { encoding: "buffer", buffer: false, stdin: "ignore" });
  let size = 0;
  child.stdout!.on("data", (chunk: Buffer) => (size += chunk.length));
  await child;
  return size;
}

async function startTime(command: string[]): Promise<{ meanMs: number; minMs: number; cpuMs: number; tool: string }> {
  const hyperfine = await execa("sh", ["-c", "command -v hyperfine"], { reject: false });
  if (hyperfine.exitCode === 0) {
    const out = join(ROOT, ".bench/hyperfine.json");
    await mkdir(join(ROOT, ".bench"), { recursive: true });
    await execa("hyperfine", ["--warmup", "3", "--runs", String(RUNS), "--shell=none", "--export-json", out, command.map(quote).join(" ")]);
    const result = (JSON.parse(readFileSync(out, "utf8")) as { results: { mean: number; min: number; user: number; system: number }[] }).results[0]!;
    await rm(out, { force: true });
    return { meanMs: result.mean * 1000, minMs: result.min * 1000, cpuMs: (result.user + result.system) * 1000, tool: "hyperfine" };
  }
  const times: number[] = [];
  let cpuBefore = 0;
  for (let i = 0; i < RUNS + 3; i++) {
    if (i === 3) cpuBefore = childrenCpuSeconds();
    const started = performance.now();
    await execa(command[0]!, command.slice(1));
    if (i >= 3) times.push(performance.now() - started);
  }
  const cpuMs = ((childrenCpuSeconds() - cpuBefore) * 1000) / RUNS;
  return { meanMs: times.reduce((a, b) => a + b, 0) / times.length, minMs: Math.min(...times), cpuMs, tool: "a timed loop" };
}

function quote(word: string): string {
  return /^[\w./=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

async function idleCost(binary: string, dir: string, idleSeconds: number) {
  const url = `https://127.0.0.1:${PORT}`;
  const credentials = ensureInitialised(join(dir, "server"), url);
  const server = await startServerProcess(join(dir, "server"), PORT);
  const state = join(dir, "agent");
  await rm(state, { recursive: true, force: true });
  const agent = spawn(binary, ["run", "--state-dir", state, "--connect-key", credentials.connectKey], { env: { ...process.env, TETHER_LOG_LEVEL: "warn" }, stdio: ["ignore", "ignore", "inherit"] });
  try {
    const memoryAt = Math.min(60, idleSeconds);
    await sleep(memoryAt * 1000);
    const status = readFileSync(`/proc/${agent.pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    const before = cpuSeconds(agent.pid!);
    await sleep((idleSeconds - memoryAt) * 1000);
    const after = cpuSeconds(agent.pid!);
    return { rssMiB: kb("VmRSS") / 1024, anonMiB: kb("RssAnon") / 1024, cpuSeconds: after - before, cpuPercent: ((after - before) / Math.max(1, idleSeconds - memoryAt)) * 100 };
  } finally {
    agent.kill("SIGTERM");
    await stopServerProcess(server);
  }
}

/** User + system CPU seconds of a process, from /proc/PID/stat (USER_HZ is 100 on Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of this process's children that it has waited for. */
function childrenCpuSeconds(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

await runCli(program);
