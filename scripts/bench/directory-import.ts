/**
 * CSV import of users (section `directory-import`):
 *  - 10,000 users without passwords: the service call alone (in-process, a fresh SQLite file per run,
 *    through the services the route calls), and one HTTP request end to end against a real server
 *    process (upload, import, the JSON answer for 10,000 rows);
 *  - 1,000 users with passwords: the service call, the hashing cost per user, and the one write
 *    transaction (hashing happens before it);
 *  - extended files: 10,000 users into two groups, and 1,000 users each bound to a device.
 * Times are wall clock with the process's CPU time beside them (both threads and libuv's pool), so a
 * busy machine shows as wall ≫ CPU.
 */
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { systemContext } from "../../control-plane/src/domain/actor.js";
import type { ImportResult } from "../../control-plane/src/domain/user-import.js";
import { dataPaths } from "../../control-plane/src/data-dir.js";
import { initDataDir } from "../../control-plane/src/init.js";
import { BindingService } from "../../control-plane/src/services/bindings.js";
import { DeviceRevisions } from "../../control-plane/src/services/device-revisions.js";
import { hashPassword } from "../../control-plane/src/services/password-hashing.js";
import { loadImportConfig } from "../../control-plane/src/services/user-import-config.js";
import { UserImportService } from "../../control-plane/src/services/user-import.js";
import { UserGroupService } from "../../control-plane/src/services/user-groups.js";
import { UserService } from "../../control-plane/src/services/users.js";
import { openDatabase, type Db } from "../../control-plane/src/store/db.js";
import { createStores } from "../../control-plane/src/store/index.js";
import { loadUserConfig } from "../../control-plane/src/user-config.js";
import { requestJson } from "../../shared/src/http-client.js";
import type { DirectorySection } from "./directory.js";
import { processCpuMs } from "./machine.js";
import { startServerProcess, stopServerProcess } from "./server-process.js";

const PASSWORD_BASE = "bench-password-";
const HEADER = "firstname,lastname,username,email,password";

interface Measured {
  wallMs: number;
  cpuMs: number;
}

export const importSection: DirectorySection = {
  name: "directory-import",
  async run(dir) {
    const load = loadavg()[0]!.toFixed(1);
    const calibration = await measure(async () => {
      let sum = 0;
      for (let i = 0; i < 1e8; i++) sum += i;
      return sum;
    });
    const plain = portalCsv(10_000, false);
    const withPasswords = portalCsv(1_000, true);

    // Warm-up (JIT, first statements), then the median of 3 fresh databases.
    await importOnce(dir, "warm", portalCsv(500, false));
    const service = median(await sequence(3, (i) => importOnce(dir, `plain${i}`, plain).then((r) => r.measured)));
    const dryRun = median(await sequence(3, (i) => importOnce(dir, `dry${i}`, plain, { dryRun: true }).then((r) => r.measured)));

    const passwords = await importOnce(dir, "passwords", withPasswords);
    const oneHash = median(await sequence(10, () => measure(() => hashPassword("bench-password-x"))));

    const groups = await importOnce(dir, "groups", extendedCsv(10_000, { groups: true }), { groups: ["engineering", "everyone"] });
    const bindings = await importOnce(dir, "bindings", extendedCsv(1_000, { devices: true }), { devices: 1_000 });

    const http = await overHttp(dir, plain);

    const perPassword = passwords.measured.wallMs / 1_000;
    return [
      "CSV import of users (POST /api/v1/users/import), through the services the route calls on a SQLite file (WAL), and once over HTTPS against a server process.",
      `Wall time, with the CPU time of the process doing the work (all its threads) in brackets. Load average when the section started: ${load};`,
      `a plain loop of 10⁸ additions took ${fmt(calibration)} here, to scale the figures to another machine.`,
      "",
      "| what | figure |",
      "|---|---:|",
      `| 10,000 users without passwords (portal format), the service call, median of 3 | **${fmt(service)}** |`,
      `| … of which reading and checking every row (a dry run of the same file) | ${fmt(dryRun)} |`,
      `| the same 10,000 over HTTPS end to end (upload 0.5 MB, import, 10,000-row JSON answer), one request to a fresh server process (its CPU) | **${fmt(http)}** |`,
      `| 1,000 users with passwords, the service call | **${fmt(passwords.measured)}** |`,
      `| … per user (scrypt + SHA-512-crypt, ${loadImportConfig({}).hashConcurrency} at once) | ${perPassword.toFixed(0)} ms wall (${(passwords.measured.cpuMs / 1_000).toFixed(0)} ms CPU) |`,
      `| … one password hashed alone, median of 10 | ${fmt(oneHash)} |`,
      `| … the write transaction of those 1,000 users (after hashing) | ${ms(passwords.longestTransactionMs)} |`,
      `| 10,000 users in two user groups each (extended format: Group1, Group2) | ${fmt(groups.measured)} |`,
      `| 1,000 users each bound to a device (SystemID, Administrator) | ${fmt(bindings.measured)} (${(bindings.measured.wallMs / 1_000).toFixed(1)} ms per user) |`,
      "",
      "JumpCloud's PowerShell module needs about a minute per 100 users.",
    ].join("\n");
  },
};

interface Seed {
  groups?: string[];
  devices?: number;
  dryRun?: boolean;
}

/** One import into a fresh database: its time, and the longest transaction it ran. */
async function importOnce(dir: string, name: string, csv: string, seed: Seed = {}): Promise<{ measured: Measured; longestTransactionMs: number }> {
  const db = openDatabase(join(dir, `${name}.db`));
  try {
    const stores = createStores(db);
    let longestTransactionMs = 0;
    const transaction = stores.transaction;
    stores.transaction = (fn) => {
      const start = performance.now();
      try {
        return transaction(fn);
      } finally {
        longestTransactionMs = Math.max(longestTransactionMs, performance.now() - start);
      }
    };
    seedDirectory(db, seed);
    const revisions = new DeviceRevisions(stores);
    const userConfig = loadUserConfig({});
    const users = new UserService(stores, { config: userConfig, publicUrl: () => "https://bench.invalid", directory: revisions });
    const service = new UserImportService(stores, {
      users,
      userGroups: new UserGroupService(stores, revisions),
      bindings: new BindingService(stores, revisions),
      userConfig,
      config: loadImportConfig({ TETHER_MAX_IMPORT_ROWS: "100000" }),
    });
    let result: ImportResult | undefined;
    longestTransactionMs = 0;
    const measured = await measure(async () => {
      result = await service.run(systemContext(), csv, { dryRun: seed.dryRun ?? false, mode: "all-or-nothing" });
    });
    const expected = csv.split("\n").length - 1;
    const done = seed.dryRun ? result!.totals.wouldCreate : result!.totals.created;
    if (done !== expected) throw new Error(`${name}: expected ${expected} users, got ${JSON.stringify(result!.totals)}: ${JSON.stringify(result!.rows.find((r) => r.errors.length > 0))}`);
    return { measured, longestTransactionMs };
  } finally {
    db.close();
  }
}

/** Groups and devices the extended files point at, written with plain SQL: seeding is not what is measured. */
function seedDirectory(db: Db, seed: Seed): void {
  const at = new Date().toISOString();
  db.transaction(() => {
    for (const name of seed.groups ?? []) db.prepare("INSERT INTO user_groups (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(`ug_${name}`, name, at, at);
    const device = db.prepare("INSERT INTO devices (id, display_name, hostname, os, enrolled_at, cert_serial, cert_not_after) VALUES (?, ?, ?, 'linux', ?, ?, '2099-01-01T00:00:00Z')");
    for (let i = 0; i < (seed.devices ?? 0); i++) device.run(`dev_${i}`, `host${i}`, `host${i}`, at, `serial${i}`);
  })();
}

/** The whole request, as tetherctl makes it, to a server process of its own. */
async function overHttp(dir: string, csv: string): Promise<Measured> {
  const dataDir = join(dir, "server");
  const port = await freePort();
  const { adminApiKey } = initDataDir(dataDir, `https://127.0.0.1:${port}`);
  const ca = readFileSync(dataPaths(dataDir).caCert, "utf8");
  const server = await startServerProcess(dataDir, port);
  try {
    const request = (body: string) =>
      requestJson<ImportResult>({
        url: `https://127.0.0.1:${port}/api/v1/users/import`,
        method: "POST",
        rawBody: Buffer.from(body),
        ca,
        timeoutMs: 600_000,
        headers: { "content-type": "text/csv", "x-api-key": adminApiKey },
      });
    await request(portalCsv(500, false, "warm"));
    const cpuBefore = processCpuMs(server.pid!, (path) => readFileSync(path, "utf8"));
    const start = performance.now();
    const response = await request(csv);
    const wallMs = performance.now() - start;
    if (response.status !== 200 || response.body?.totals.created !== 10_000) throw new Error(`HTTP import: ${response.status} ${response.text.slice(0, 300)}`);
    return { wallMs, cpuMs: processCpuMs(server.pid!, (path) => readFileSync(path, "utf8")) - cpuBefore };
  } finally {
    await stopServerProcess(server);
  }
}

function portalCsv(count: number, passwords: boolean, prefix = "user"): string {
  const rows = Array.from({ length: count }, (_, i) => `First${i},Last${i},${prefix}${i},${prefix}${i}@bench.test,${passwords ? `${PASSWORD_BASE}${i}` : ""}`);
  return [HEADER, ...rows].join("\n");
}

function extendedCsv(count: number, options: { groups?: boolean; devices?: boolean }): string {
  const header = ["FirstName", "LastName", "Username", "Email", "department", ...(options.groups ? ["Group1", "Group2"] : []), ...(options.devices ? ["SystemID", "Administrator"] : [])];
  const rows = Array.from({ length: count }, (_, i) =>
    [`First${i}`, `Last${i}`, `user${i}`, `user${i}@bench.test`, "Engineering", ...(options.groups ? ["engineering", "everyone"] : []), ...(options.devices ? [`dev_${i}`, i % 2 ? "True" : "False"] : [])].join(","),
  );
  return [header.join(","), ...rows].join("\n");
}

async function measure(fn: () => Promise<unknown>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
}

async function sequence<T>(runs: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < runs; i++) results.push(await fn(i));
  return results;
}

function median(values: Measured[]): Measured {
  const sorted = [...values].sort((a, b) => a.wallMs - b.wallMs);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function fmt(value: Measured): string {
  return `${ms(value.wallMs)} (${ms(value.cpuMs)} CPU)`;
}

function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}
