import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { requestJson } from "../../shared/src/http-client.js";
import { atTestProcessExit } from "./at-exit.js";
import { runnerEnv } from "./child.js";

/**
 * Runs the real control plane (`control-plane/src/cli.ts`) as a child process for integration tests:
 * init once per data dir, then `serve` on 127.0.0.1 with HTTPS and the generated CA.
 *
 * Call `cleanup()` in afterAll; exit and signal hooks also kill any server still running and remove
 * the data dirs, so nothing outlives the test file even when a hook is skipped.
 */

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(REPO_ROOT, "control-plane/src/cli.ts");
const READY_MESSAGE = "control plane listening";
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export interface TestControlPlane {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  dataDir: string;
  adminApiKey: string;
  connectKey: string;
  caFingerprint: string;
  caPem: string;
  /** The running `serve` process (a new one after restart()). */
  readonly process: ChildProcess;
  /** Everything the server processes printed so far (stdout and stderr, across restarts). */
  logs(): string;
  /**
   * One JSON request to the REST API, trusting only this server's CA. The key defaults to the initial
   * admin key; pass null to send none. The body is the parsed JSON, typed loosely for assertions.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  api<T = any>(method: string, path: string, body?: unknown, apiKey?: string | null): Promise<ApiResponse<T>>;
  /** SIGTERM, then waits for the process to exit (SIGKILL and an error if it takes over 10 s). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, as a crash would, and waits for the exit. */
  kill9(): Promise<void>;
  /** Starts `serve` again on the same port and data dir (stopping the current process first if it runs). */
  restart(): Promise<void>;
  /** stop() and remove the data dir. */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  /**
   * Added to the server's environment (TETHER_* from the test runner's own environment are dropped).
   * Keep TETHER_LOG_LEVEL at info or lower: readiness is the "control plane listening" log line.
   */
  env?: Record<string, string>;
  /** Reuse this data dir; it is initialised on first use. Default: a new temp dir. */
  dataDir?: string;
}

interface InitResult {
  adminApiKey: string;
  connectKey: string;
  caFingerprint: string;
  url: string;
}

/** Init results per data dir: init runs once, and later starts reuse its keys and port. */
const initialised = new Map<string, InitResult & { port: number }>();
const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}
atTestProcessExit(killAll);

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

export async function startControlPlane(options: StartOptions = {}): Promise<TestControlPlane> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "tether-test-")));
  tempDirs.add(dataDir);
  const env = serverEnv(options.env);
  const init = initialised.get(dataDir) ?? (await initDataDir(dataDir, env));
  const caPem = await readFile(join(dataDir, "pki", "ca.crt"), "utf8");
  const listen = `127.0.0.1:${init.port}`;

  let output = "";
  let child = await spawnServer(dataDir, listen, env, (text) => (output += text));

  const stop = async () => {
    const exited = exitOf(child);
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    const result = await exited;
    clearTimeout(timer);
    if (result.signal === "SIGKILL") throw new Error(`the control plane did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${output}`);
    return result;
  };

  return {
    url: `https://${listen}`,
    port: init.port,
    dataDir,
    adminApiKey: init.adminApiKey,
    connectKey: init.connectKey,
    caFingerprint: init.caFingerprint,
    caPem,
    get process() {
      return child;
    },
    logs: () => output,
    async api(method, path, body, apiKey = init.adminApiKey) {
      const response = await requestJson<never>({
        url: `https://${listen}${path}`,
        method,
        body,
        ca: caPem,
        headers: apiKey === null ? {} : { "x-api-key": apiKey },
      });
      return { status: response.status, body: response.body as never };
    },
    stop,
    async kill9() {
      const exited = exitOf(child);
      child.kill("SIGKILL");
      await exited;
    },
    async restart() {
      await stop();
      child = await spawnServer(dataDir, listen, env, (text) => (output += text));
    },
    async cleanup() {
      await stop();
      tempDirs.delete(dataDir);
      initialised.delete(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The runner's environment without its TETHER_* settings, plus the test's own. */
function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...runnerEnv(), ...extra };
}

async function initDataDir(dataDir: string, env: NodeJS.ProcessEnv): Promise<InitResult & { port: number }> {
  const port = await freePort();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", CLI, "init", "--data-dir", dataDir, "--public-url", `https://127.0.0.1:${port}`, "--json"],
    { cwd: REPO_ROOT, env },
  );
  const result = { ...(JSON.parse(stdout) as InitResult), port };
  initialised.set(dataDir, result);
  return result;
}

/** Spawns `serve` and resolves once it logs that it listens; rejects with its output otherwise. */
async function spawnServer(dataDir: string, listen: string, env: NodeJS.ProcessEnv, collect: (text: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "serve", "--data-dir", dataDir, "--listen", listen], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));

  let seen = "";
  let partialLine = "";
  await new Promise<void>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`the control plane ${reason}; its output:\n${seen}`));
    };
    const exitedEarly = (code: number | null, signal: string | null) => fail(`exited (code ${code}, signal ${signal}) before it was ready`);
    const timer = setTimeout(() => fail(`did not log "${READY_MESSAGE}" within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.once("exit", exitedEarly);
    child.once("error", (error) => fail(`could not be started (${error.message})`));
    child.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      collect(chunk.toString());
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      seen += text;
      collect(text);
      const lines = (partialLine + text).split("\n");
      partialLine = lines.pop() ?? "";
      if (lines.some(isReadyLine)) {
        clearTimeout(timer);
        child.off("exit", exitedEarly);
        resolve();
      }
    });
  });
  return child;
}

function isReadyLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === READY_MESSAGE;
  } catch {
    return false;
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return once(child, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
}
