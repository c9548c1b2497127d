import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { newStateDir, startAgent, type TestAgent } from "../helpers/agent.js";
import { waitFor } from "../helpers/wait.js";

const FINAL = ["succeeded", "failed", "timed_out", "canceled", "interrupted", "error", "expired"];

// Commands through a real control plane and a real agent process: crashes on either side never make a
// script run twice or lose a result; order per device; offline queues; cancel; output caps.
describe("commands end to end", () => {
  let cp: TestControlPlane;
  let agent: TestAgent;
  let stateDir: string;
  let deviceId: string;
  let work: string;

  const startTheAgent = async () => {
    agent = await startAgent({ stateDir, args: ["run", "--connect-key", cp.connectKey] });
  };
  const online = () =>
    waitFor(async () => (await cp.api("GET", `/api/v1/devices/${deviceId}`)).body.status === "online", { timeoutMs: 30_000, message: "device online" });
  const run = async (script: string, extra: Record<string, unknown> = {}) => {
    const response = await cp.api("POST", "/api/v1/command-runs", { script, os: "linux", targets: { devices: [deviceId] }, ...extra });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.executions[0].id as string;
  };
  const result = async (id: string) => (await cp.api("GET", `/api/v1/command-results/${id}`)).body;
  const final = (id: string, timeoutMs = 30_000) =>
    waitFor(async () => {
      const r = await result(id);
      return FINAL.includes(r.status) ? r : false;
    }, { timeoutMs, message: `execution ${id} to finish` });

  beforeAll(async () => {
    cp = await startControlPlane({ env: { TETHER_HEARTBEAT_INTERVAL: "2s", TETHER_EXPIRY_SWEEP_INTERVAL: "1s" } });
    work = await mkdtemp(join(tmpdir(), "tether-commands-"));
    stateDir = await newStateDir();
    await startTheAgent();
    const device = await waitFor(async () => (await cp.api("GET", "/api/v1/devices?filter=status:eq:online")).body.results[0], { timeoutMs: 30_000, message: `agent online\n${agent?.logs()}` });
    deviceId = device.id;
  });
  afterAll(async () => {
    await agent.stop();
    await cp.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it("runs a script and stores its result, with env and exit code", async () => {
    const id = await run('echo "hello $GREETING"; echo oops >&2; exit 3', { env: { GREETING: "world" } });
    const done = await final(id);
    expect(done).toMatchObject({ status: "failed", exitCode: 3, stdout: "hello world\n", stderr: "oops\n" });
    expect(done.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("keeps the tail of large output", async () => {
    const id = await run("seq 1 400000");
    const done = await final(id);
    expect(done.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(done.stdout)).toBeLessThanOrEqual(1024 * 1024);
    expect(done.stdout.endsWith("399999\n400000\n")).toBe(true);
  });

  it("runs executions for one device in order, one at a time", async () => {
    const log = join(work, "order.log");
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(await run(`echo start-${n} >> ${log}; sleep 0.3; echo end-${n} >> ${log}`));
    for (const id of ids) await final(id);
    expect((await readFile(log, "utf8")).trim().split("\n")).toEqual(["start-1", "end-1", "start-2", "end-2", "start-3", "end-3"]);
  });

  it("cancels a running script and kills it", async () => {
    const pidFile = join(work, "cancel.pid");
    const id = await run(`echo $$ > ${pidFile}; sleep 60`);
    await waitFor(async () => (await result(id)).status === "running", { message: "running" });
    const pid = Number(await waitFor(() => readFile(pidFile, "utf8").then((text) => text.trim() || false, () => false)));
    expect((await cp.api("POST", `/api/v1/command-results/${id}/cancel`)).status).toBe(200);
    expect((await final(id)).status).toBe("canceled");
    await waitFor(() => !alive(pid), { message: "the canceled process to be gone" });
  });

  it("survives kill -9 of the control plane with executions in flight: each runs once, none is lost", async () => {
    const log = join(work, "crash-server.log");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await run(`echo "$TETHER_EXECUTION_ID" >> ${log}; sleep 0.7`));
    await waitFor(async () => (await result(ids[0]!)).status === "running", { message: "first running" });
    await cp.kill9();
    await new Promise((r) => setTimeout(r, 1000));
    await cp.restart();
    for (const id of ids) expect((await final(id, 60_000)).status).toBe("succeeded");
    const lines = (await readFile(log, "utf8")).trim().split("\n");
    expect(lines.sort()).toEqual([...ids].sort());
  });

  it("reports a script running when the agent is killed as interrupted, and never runs it again", async () => {
    const log = join(work, "crash-agent.log");
    const pidFile = join(work, "crash-agent.pid");
    const id = await run(`echo ran >> ${log}; sleep 30 & echo $! > ${pidFile}; wait`);
    await waitFor(async () => (await result(id)).status === "running", { message: "running" });
    const leftover = Number(await waitFor(() => readFile(pidFile, "utf8").then((text) => text.trim() || false, () => false)));
    await agent.kill9();
    expect(alive(leftover)).toBe(true);
    await startTheAgent();
    const done = await final(id);
    expect(done.status).toBe("interrupted");
    expect(done.error).toMatch(/not started again/);
    expect((await readFile(log, "utf8")).trim().split("\n")).toEqual(["ran"]);
    // What the script left running when its agent died is stopped on the agent's restart.
    await waitFor(() => !alive(leftover), { message: "the orphaned sleep to be killed" });
  });

  it("queues work for an offline device and delivers it on reconnect; expired work never runs", async () => {
    await agent.stop();
    await waitFor(async () => (await cp.api("GET", `/api/v1/devices/${deviceId}`)).body.status === "offline", { message: "offline" });
    const marker = join(work, "expired.log");
    const expiring = await run(`echo should-not-run >> ${marker}`, { queueTtlSeconds: 1 });
    const waiting = await run("echo delivered-later");
    expect((await result(waiting)).status).toBe("queued");
    await waitFor(async () => (await result(expiring)).status === "expired", { message: "expired" });
    await startTheAgent();
    await online();
    expect(await final(waiting)).toMatchObject({ status: "succeeded", stdout: "delivered-later\n" });
    expect((await result(expiring)).status).toBe("expired");
    await expect(readFile(marker, "utf8")).rejects.toThrow();
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
