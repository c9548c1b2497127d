/**
 * `npm run bench:commands`: command latency and fan-out.
 *  - Round trip: a real agent process runs `echo hi`; time from the REST request to the stored result,
 *    over 200 runs (median and p99).
 *  - Fan-out: simulated agents that answer at once; one ad-hoc run to N devices, time until every
 *    result is stored.
 * Writes the figures to docs/benchmarks.md.
 */
import { fork, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { runCli } from "../../shared/src/cli/run-cli.js";
import { requestJson } from "../../shared/src/http-client.js";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import { dataPaths } from "../../control-plane/src/data-dir.js";
import { ensureIdentities, ensureInitialised } from "../sim/fleet.js";
import type { FromWorker, ToWorker } from "../sim/protocol.js";
import { machineDescription, processCpuMs, replaceSection } from "./machine.js";
import { startServerProcess, stopServerProcess } from "./server-process.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PORT = 18_601;
const NATIVE_AGENT = join(ROOT, "dist/agent/tether-agent-linux-x64");
const URL_ = `https://127.0.0.1:${PORT}`;
const FINAL = new Set(["succeeded", "failed", "timed_out", "canceled", "interrupted", "error", "expired"]);

const program = new Command("bench:commands")
  .option("--runs <n>", "round trips with the real agent", "200")
  .option("--fanout <list>", "numbers of simulated agents for the fan-out", "1000,5000,10000")
  .option("--workers <n>", "simulator processes", "2")
  .option("--dir <dir>", "benchmark state", join(ROOT, ".bench/commands"))
  .option("--no-write", "do not update docs/benchmarks.md")
  .option("--cpu-prof <dir>", "write a CPU profile of the server process to this directory")
  .option("--agent <kind>", "the round trip's agent: binary (dist/agent/tether-agent-linux-x64, what machines run) or source (tsx)", existsSync(NATIVE_AGENT) ? "binary" : "source")
  .action(async (options: { runs: string; fanout: string; workers: string; dir: string; write: boolean; cpuProf?: string; agent: string }) => {
    const dir = resolve(options.dir);
    const credentials = ensureInitialised(dir, URL_);
    const caPem = readFileSync(dataPaths(dir).caCert, "utf8");
    const api = <T>(method: string, path: string, body?: unknown) =>
      requestJson<T>({ url: `${URL_}${path}`, method, body, ca: caPem, headers: { "x-api-key": credentials.adminApiKey } });

    const profile = options.cpuProf ? ["--cpu-prof", "--cpu-prof-dir", resolve(options.cpuProf)] : [];
    const server = await startServerProcess(dir, PORT, {}, profile);
    const lines: string[] = [];
    try {
      const roundTrip = await measureRoundTrip(dir, credentials.connectKey, Number(options.runs), options.agent, api);
      lines.push(
        `Round trip (REST request → stored result) with a real agent (${options.agent === "binary" ? "the native linux-x64 binary" : "from source, with tsx"}) running \`echo hi\`, ${options.runs} runs one after another: ` +
          `median **${roundTrip.median.toFixed(1)} ms**, p99 ${roundTrip.p99.toFixed(1)} ms, min ${roundTrip.min.toFixed(1)} ms. ` +
          `Medians of its stages: the POST ${roundTrip.stages.post.toFixed(1)} ms; request to sent ${roundTrip.stages.dispatch.toFixed(0)} ms; ` +
          `sent to the process started (agent: journal, script file, spawn) ${roundTrip.stages.agentStart.toFixed(0)} ms; the script ${roundTrip.stages.script.toFixed(0)} ms; ` +
          `the rest (result journaled and sent, stored, seen by polling every 1 ms) ${roundTrip.stages.rest.toFixed(1)} ms.`,
      );
      const counts = options.fanout.split(",").map(Number);
      const fanout = await measureFanout(dir, credentials, caPem, counts, Number(options.workers), api, server.pid!);
      lines.push(
        "",
        "Fan-out: one ad-hoc run to N simulated agents that answer at once (real mTLS sessions); time from the REST request until every result is stored,",
        "the CPU time the server process used for it (less noisy than wall time on a shared machine), and the 1-minute load average at the end.",
        "",
        "| agents | executions created (s) | all results stored (s) | per 1,000 (s) | server CPU (s) | load average |",
        "|---:|---:|---:|---:|---:|---:|",
        ...fanout.map(
          (f) =>
            `| ${f.n} | ${f.createdSeconds.toFixed(2)} | ${f.doneSeconds.toFixed(2)} | ${((f.doneSeconds * 1000) / f.n).toFixed(2)} | ${f.serverCpuSeconds.toFixed(2)} | ${f.load.toFixed(1)} |`,
        ),
      );
    } finally {
      await stopServerProcess(server);
    }
    const body = [`Measured ${new Date().toISOString().slice(0, 10)} on ${machineDescription()}.`, "", ...lines].join("\n");
    console.log(body);
    if (options.write) {
      const path = join(ROOT, "docs/benchmarks.md");
      const document = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
      writeFileSync(path, replaceSection(document, "bench:commands", body));
    }
  });

type Api = <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T | undefined }>;

async function measureRoundTrip(dir: string, connectKey: string, runs: number, kind: string, api: Api) {
  if (kind !== "binary" && kind !== "source") throw new Error(`--agent: binary or source, not ${kind}`);
  // Starting a process costs more the more memory its parent maps (fork copies the page tables), so the
  // agent under tsx (≈ 250 MiB) spawns scripts several times slower than the native binary (≈ 70 MiB).
  const [file, args] = kind === "binary" ? [NATIVE_AGENT, []] : [process.execPath, ["--import", "tsx", join(ROOT, "agent/src/cli.ts")]];
  const agent = spawn(file, [...args, "run", "--state-dir", join(dir, "agent"), "--connect-key", connectKey], {
    cwd: ROOT,
    env: { ...process.env, TETHER_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    let deviceId: string | undefined;
    for (let i = 0; i < 200 && !deviceId; i++) {
      const page = await api<{ results: { id: string; hostname: string; status: string; agentVersion: string }[] }>("GET", "/api/v1/devices?filter=status:eq:online&filter=agentVersion:ne:0.0.0-sim&limit=1");
      deviceId = page.body?.results[0]?.id;
      if (!deviceId) await sleep(100);
    }
    if (!deviceId) throw new Error("the agent did not come online");
    const samples: number[] = [];
    // Where the time goes, from the result's own timestamps (ms resolution): the POST; the server from
    // the request until it sent the run (partly during the POST); the agent until the process started;
    // the script; and the rest (the agent's result, the server storing it, and this client's polling).
    const stages: Record<"post" | "dispatch" | "agentStart" | "script" | "rest", number[]> = { post: [], dispatch: [], agentStart: [], script: [], rest: [] };
    type Timed = { status: string; requestedAt: string; sentAt: string | null; startedAt: string | null; finishedAt: string | null };
    for (let i = 0; i < runs + 10; i++) {
      const started = performance.now();
      const created = await api<{ executions: { id: string }[] }>("POST", "/api/v1/command-runs", { script: "echo hi", os: "linux", targets: { devices: [deviceId] } });
      const posted = performance.now();
      const id = created.body!.executions[0]!.id;
      let result: Timed;
      for (;;) {
        result = (await api<Timed>("GET", `/api/v1/command-results/${id}`)).body!;
        if (FINAL.has(result.status)) break;
        await sleep(1);
      }
      const total = performance.now() - started;
      if (i < 10) continue; // the first ten warm up
      samples.push(total);
      const at = (value: string | null) => Date.parse(value ?? "");
      stages.post.push(posted - started);
      stages.dispatch.push(at(result.sentAt) - at(result.requestedAt));
      stages.agentStart.push(at(result.startedAt) - at(result.sentAt));
      stages.script.push(at(result.finishedAt) - at(result.startedAt));
      stages.rest.push(total - (posted - started) - (at(result.finishedAt) - at(result.sentAt)));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    samples.sort((a, b) => a - b);
    return {
      median: samples[Math.floor(samples.length / 2)]!,
      p99: samples[Math.floor(samples.length * 0.99)]!,
      min: samples[0]!,
      stages: Object.fromEntries(Object.entries(stages).map(([name, values]) => [name, median(values)])) as Record<keyof typeof stages, number>,
    };
  } finally {
    agent.kill("SIGTERM");
  }
}

async function measureFanout(
  dir: string,
  credentials: ReturnType<typeof ensureInitialised>,
  caPem: string,
  counts: number[],
  workerCount: number,
  api: Api,
  serverPid: number,
) {
  const serverCpuMs = () => processCpuMs(serverPid, (path) => readFileSync(path, "utf8"));
  const keyPath = join(dir, "sim-key.pem");
  if (!existsSync(keyPath)) writeFileSync(keyPath, generateKeyAndCsr("sim").keyPem, { mode: 0o600 });
  const keyPem = readFileSync(keyPath, "utf8");
  const max = Math.max(...counts);
  const identities = await ensureIdentities(join(dir, "identities.jsonl"), max, credentials, keyPem, caPem, URL_);
  const workers = Array.from({ length: workerCount }, () =>
    fork(join(ROOT, "scripts/sim/worker.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  try {
    await Promise.all(
      workers.map(
        (worker, w) =>
          new Promise<void>((done) => {
            worker.on("message", (m: FromWorker) => m.event === "connected" && done());
            const command: ToWorker = {
              cmd: "connect",
              url: URL_,
              caPem,
              keyPem,
              identities: identities.slice(0, max).filter((_, i) => i % workerCount === w),
              localAddresses: Array.from({ length: 4 }, (_, i) => `127.0.0.${i + 1}`),
              concurrency: 64,
              sendInventory: false,
              answerCommands: true,
            };
            worker.send(command);
          }),
      ),
    );
    const results = [];
    for (const n of counts) {
      const devices = identities.slice(0, n).map((i) => i.deviceId);
      const started = performance.now();
      const cpuBefore = serverCpuMs();
      const created = await api<{ runId: string; executions: unknown[] }>("POST", "/api/v1/command-runs", { script: "echo hi", os: "linux", targets: { devices } });
      if (created.status !== 201) throw new Error(`run failed: ${JSON.stringify(created.body)}`);
      const createdSeconds = (performance.now() - started) / 1000;
      const runId = created.body!.runId;
      for (;;) {
        const page = await api<{ totalCount: number }>("GET", `/api/v1/command-results?filter=runId:eq:${runId}&filter=status:eq:succeeded&limit=1`);
        if (page.body!.totalCount >= n) break;
        await sleep(50);
      }
      const doneSeconds = (performance.now() - started) / 1000;
      const serverCpuSeconds = (serverCpuMs() - cpuBefore) / 1000;
      const load = loadavg()[0]!;
      console.log(`fan-out ${n}: created in ${createdSeconds.toFixed(2)} s, all stored in ${doneSeconds.toFixed(2)} s, server CPU ${serverCpuSeconds.toFixed(2)} s, load ${load.toFixed(1)}`);
      results.push({ n, createdSeconds, doneSeconds, serverCpuSeconds, load });
    }
    return results;
  } finally {
    for (const worker of workers) worker.kill("SIGKILL");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

await runCli(program);
