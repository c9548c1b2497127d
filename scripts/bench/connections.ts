/**
 * `npm run bench:connections`: how many agents one control plane holds. Simulated agents (real mTLS
 * WebSockets, each with its own enrolled certificate) run in worker processes; for each N the server
 * is started fresh, all N connect, say hello and send an inventory, then the connections are held
 * while the server pings them. Writes the figures to docs/benchmarks.md.
 *
 *   npm run bench:connections -- --counts 1000,5000,10000 --workers 2 --hold 20
 *
 * Enrolled identities are kept in .bench/connections/ and reused by later runs.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { runCli } from "../../shared/src/cli/run-cli.js";
import { requestJson } from "../../shared/src/http-client.js";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import { dataPaths } from "../../control-plane/src/data-dir.js";
import { ensureIdentities, ensureInitialised } from "../sim/fleet.js";
import type { FromWorker, SimIdentity, ToWorker } from "../sim/protocol.js";
import { machineDescription, metricValue, replaceSection, rssOf } from "./machine.js";
import { startServerProcess, stopServerProcess } from "./server-process.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PORT = 18_600;
const URL_ = `https://127.0.0.1:${PORT}`;

interface Result {
  n: number;
  connected: number;
  failed: number;
  firstError: string | null;
  connectSeconds: number;
  serverRssMiB: number;
  workerRssMiB: number;
  stormLagP50Ms: number;
  stormLagP99Ms: number;
  holdLagP50Ms: number;
  holdLagP99Ms: number;
  holdLagMaxMs: number;
}

const program = new Command("bench:connections")
  .option("--counts <list>", "numbers of agents to try", "1000,5000,10000,19000")
  .option("--workers <n>", "simulator processes", "2")
  .option("--hold <seconds>", "how long to hold the connections before measuring", "20")
  .option("--heartbeat <duration>", "server ping interval while holding", "5s")
  .option("--dir <dir>", "benchmark state (data dir, enrolled identities)", join(ROOT, ".bench/connections"))
  .option("--no-write", "do not update docs/benchmarks.md")
  .action(async (options: { counts: string; workers: string; hold: string; heartbeat: string; dir: string; write: boolean }) => {
    const counts = options.counts.split(",").map(Number);
    const workers = Number(options.workers);
    const dir = resolve(options.dir);
    const credentials = ensureInitialised(dir, URL_);
    const keyPath = join(dir, "sim-key.pem");
    const identitiesPath = join(dir, "identities.jsonl");
    if (!existsSync(keyPath)) writeFileSync(keyPath, generateKeyAndCsr("sim").keyPem, { mode: 0o600 });
    const keyPem = readFileSync(keyPath, "utf8");
    const caPem = readFileSync(dataPaths(dir).caCert, "utf8");

    let server = await startServer(dir, options.heartbeat);
    const identities = await ensureIdentities(identitiesPath, Math.max(...counts), credentials, keyPem, caPem, URL_);
    const results: Result[] = [];
    for (const n of counts) {
      await stopServer(server);
      server = await startServer(dir, options.heartbeat);
      console.log(`\n== ${n} agents ==`);
      results.push(await measure(n, identities.slice(0, n), workers, Number(options.hold), server, keyPem, caPem, credentials.adminApiKey));
      const last = results.at(-1)!;
      console.log(JSON.stringify(last));
      if (last.connected < n * 0.99) {
        console.log(`stopping: only ${last.connected} of ${n} connected (${last.firstError})`);
        break;
      }
    }
    await stopServer(server);
    if (options.write) writeReport(results, workers, options.heartbeat, Number(options.hold));
  });

async function measure(
  n: number,
  identities: SimIdentity[],
  workerCount: number,
  holdSeconds: number,
  server: ChildProcess,
  keyPem: string,
  caPem: string,
  apiKey: string,
): Promise<Result> {
  const workers = Array.from({ length: workerCount }, () =>
    fork(join(ROOT, "scripts/sim/worker.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  const localAddresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
  const metrics = () => requestJson<never>({ url: `${URL_}/metrics`, ca: caPem, headers: { "x-api-key": apiKey } }).then((r) => r.text);
  await metrics(); // resets the lag histogram: the next scrape covers the connect storm only
  const started = performance.now();
  const done = workers.map(
    (worker, w) =>
      new Promise<Extract<FromWorker, { event: "connected" }>>((resolveDone) => {
        worker.on("message", (message: FromWorker) => {
          if (message.event === "connected") resolveDone(message);
        });
        const slice = identities.filter((_, i) => i % workerCount === w);
        const command: ToWorker = { cmd: "connect", url: URL_, caPem, keyPem, identities: slice, localAddresses, concurrency: 128, sendInventory: true };
        worker.send(command);
      }),
  );
  const reports = await Promise.all(done);
  const connectSeconds = (performance.now() - started) / 1000;
  const storm = await metrics();
  console.log(`connected in ${connectSeconds.toFixed(1)} s; holding ${holdSeconds} s`);
  await new Promise((r) => setTimeout(r, holdSeconds * 1000));
  const hold = await metrics();
  const result: Result = {
    n,
    connected: metricValue(hold, "tether_agents_connected") ?? 0,
    failed: reports.reduce((sum, r) => sum + r.failed, 0),
    firstError: reports.find((r) => r.firstError)?.firstError ?? null,
    connectSeconds: round(connectSeconds),
    serverRssMiB: round(rssOf(server.pid!, (p) => readFileSync(p, "utf8")) / 2 ** 20),
    workerRssMiB: round(reports.reduce((sum, r) => sum + r.rssBytes, 0) / 2 ** 20),
    stormLagP50Ms: lagMs(storm, "0.5"),
    stormLagP99Ms: lagMs(storm, "0.99"),
    holdLagP50Ms: lagMs(hold, "0.5"),
    holdLagP99Ms: lagMs(hold, "0.99"),
    holdLagMaxMs: lagMs(hold, "1"),
  };
  for (const worker of workers) worker.kill("SIGKILL");
  return result;
}

function lagMs(metrics: string, quantile: string): number {
  return round((metricValue(metrics, "tether_eventloop_lag_seconds", `{quantile="${quantile}"}`) ?? NaN) * 1000);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function startServer(dir: string, heartbeat: string): Promise<ChildProcess> {
  return startServerProcess(dir, PORT, { TETHER_HEARTBEAT_INTERVAL: heartbeat });
}

const stopServer = stopServerProcess;

function writeReport(results: Result[], workers: number, heartbeat: string, hold: number): void {
  const path = join(ROOT, "docs/benchmarks.md");
  const rows = results.map(
    (r) =>
      `| ${r.n} | ${r.connected} | ${r.failed} | ${r.connectSeconds} | ${r.serverRssMiB} | ${r.stormLagP50Ms} / ${r.stormLagP99Ms} | ${r.holdLagP50Ms} / ${r.holdLagP99Ms} / ${r.holdLagMaxMs} | ${r.workerRssMiB} |`,
  );
  const body = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machineDescription()}.`,
    `Simulator: ${workers} worker processes; each agent has its own enrolled certificate (one shared RSA key), connects over mTLS, says hello and sends a small inventory. Server pings every ${heartbeat}; lag measured over the connect storm and over a ${hold} s hold.`,
    "",
    "| agents | connected | failed | time to connect all (s) | server RSS (MiB) | lag during connect p50 / p99 (ms) | lag while holding p50 / p99 / max (ms) | simulator RSS (MiB) |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
  const document = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  writeFileSync(path, replaceSection(document, "bench:connections", body));
  console.log(`\nwrote ${path}`);
}

await runCli(program);
