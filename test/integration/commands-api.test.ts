import { createHash, randomBytes } from "node:crypto";
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import type { Command, Execution } from "../../control-plane/src/domain/command.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { ExecResult, ExecutionSpecMessage } from "../../shared/src/protocol/commands.js";
import { decodeConnectKey } from "../../shared/src/connect-key.js";
import { startControlPlane, type ApiResponse, type TestControlPlane } from "../helpers/control-plane.js";
import { enrollRaw, hello, openRaw, type RawCredentials, type RawSession } from "../helpers/raw-agent.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The commands REST API of a real control plane process over HTTPS, with hand-driven agents on the
 * WebSocket so every delivery, answer and duplicate is under the test's control.
 */

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; reason: string }[] };
}
interface LaunchResult {
  runId: string;
  executions: Execution[];
  skipped: { deviceId: string; reason: string }[];
}

let cp: TestControlPlane;
/** A second server with a 1 kB file limit. */
let small: TestControlPlane;
let readOnlyKey: string;
const sessions: RawSession[] = [];

beforeAll(async () => {
  [cp, small] = await Promise.all([
    startControlPlane({ env: { TETHER_EXPIRY_SWEEP_INTERVAL: "1s" } }),
    startControlPlane({ env: { TETHER_MAX_FILE: "1kb" } }),
  ]);
  const reader = await cp.api("POST", "/api/v1/api-keys", { name: "reader", role: "read-only" });
  expect(reader.status).toBe(201);
  readOnlyKey = reader.body.key;
});
afterAll(async () => {
  for (const s of sessions) s.ws.terminate();
  await Promise.all([cp?.cleanup(), small?.cleanup()]);
});

const tag = () => randomBytes(4).toString("hex");

/** Asserts a 4xx with an error code, naming `field` among the details when given. */
function expectError(res: ApiResponse<unknown>, status: number, field?: string): ErrorBody["error"] {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const error = (res.body as ErrorBody).error;
  expect(typeof error.code).toBe("string");
  expect(error.code.length).toBeGreaterThan(0);
  if (field !== undefined) expect(error.details?.map((d) => d.field), JSON.stringify(error)).toContain(field);
  return error;
}

async function enrollAs(platform: "linux" | "darwin" | "windows"): Promise<string> {
  const { csrPem } = generateKeyAndCsr("commands-test");
  const secret = decodeConnectKey(cp.connectKey).secret;
  const res = await cp.api("POST", "/agent/v1/enroll", { connectKeySecret: secret, csrPem, hostname: `${platform}-${tag()}`, platform }, null);
  expect(res.status).toBe(201);
  return res.body.deviceId as string;
}

/** Opens a session that announces the commands capability and waits for its welcome. */
async function connect(device: RawCredentials): Promise<RawSession> {
  const session = await openRaw(cp, device);
  sessions.push(session);
  session.send(hello(device.deviceId, { protocolVersion: 2, capabilities: ["inventory", "commands"] }));
  await session.next("welcome");
  return session;
}

async function online(): Promise<{ device: RawCredentials; session: RawSession }> {
  const device = await enrollRaw(cp, `raw-${tag()}`);
  return { device, session: await connect(device) };
}

async function createCommand(fields: Record<string, unknown>): Promise<Command> {
  const res = await cp.api<Command>("POST", "/api/v1/commands", { name: `cmd-${tag()}`, script: "echo hi", os: "linux", ...fields });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function run(commandId: string, body: Record<string, unknown> = {}, key?: string): Promise<LaunchResult> {
  const res = await cp.api<LaunchResult>("POST", `/api/v1/commands/${commandId}/run`, body, key);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Runs a command that targets exactly one device; returns that execution. */
async function runOne(commandId: string): Promise<Execution> {
  const launched = await run(commandId);
  expect(launched.executions).toHaveLength(1);
  return launched.executions[0]!;
}

const result = async (id: string, key?: string) => (await cp.api<Execution>("GET", `/api/v1/command-results/${id}`, undefined, key)).body;
const statusOf = async (id: string) => (await result(id)).status;

async function nextRun(session: RawSession, timeoutMs?: number): Promise<ExecutionSpecMessage> {
  return (await session.next("exec.run", timeoutMs)).execution as ExecutionSpecMessage;
}

/** Asserts the session receives no message of this type for a while. */
async function expectNone(session: RawSession, type: string, ms = 600): Promise<void> {
  await expect(session.next(type, ms)).rejects.toThrow(/no "/);
}

function resultFrame(executionId: string, fields: Partial<ExecResult> = {}): ExecResult {
  return {
    type: "exec.result",
    executionId,
    status: "succeeded",
    exitCode: 0,
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    startedAt: null,
    finishedAt: new Date().toISOString(),
    error: null,
    ...fields,
  };
}

/** Sends a result and waits for its ack. */
async function finish(session: RawSession, executionId: string, fields: Partial<ExecResult> = {}): Promise<void> {
  session.send(resultFrame(executionId, fields));
  expect(await session.next("exec.ack")).toEqual({ type: "exec.ack", executionId });
}

interface RawResponse {
  status: number;
  body: Buffer;
  json(): ErrorBody & Record<string, unknown>;
}

/** One HTTPS request with a raw body and optional client certificate. */
function rawRequest(
  server: TestControlPlane,
  method: string,
  path: string,
  options: { body?: Buffer; contentType?: string; apiKey?: string; cert?: RawCredentials } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method,
        ca: server.caPem,
        ...(options.cert ? { key: options.cert.keyPem, cert: options.cert.certificatePem } : {}),
        headers: {
          ...(options.apiKey ? { "x-api-key": options.apiKey } : {}),
          ...(options.contentType ? { "content-type": options.contentType } : {}),
          ...(options.body ? { "content-length": String(options.body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body.toString()) as ErrorBody & Record<string, unknown> });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const upload = (server: TestControlPlane, name: string, bytes: Buffer) =>
  rawRequest(server, "POST", `/api/v1/files?name=${encodeURIComponent(name)}`, { body: bytes, contentType: "application/octet-stream", apiKey: server.adminApiKey });

describe("saved commands: CRUD and validation", () => {
  let groupId: string;
  let deviceId: string;

  beforeAll(async () => {
    deviceId = await enrollAs("linux");
    const group = await cp.api("POST", "/api/v1/device-groups", { name: `g-${tag()}` });
    expect(group.status).toBe(201);
    groupId = group.body.id;
  });

  it("creates with defaults, gets by id and name, lists, patches and deletes", async () => {
    const name = `crud-${tag()}`;
    const created = await cp.api<Command>("POST", "/api/v1/commands", {
      name,
      script: "uptime",
      os: "linux",
      description: "how long",
      env: { A: "1" },
      targets: { devices: [deviceId], deviceGroups: [groupId] },
    });
    expect(created.status).toBe(201);
    const command = created.body;
    expect(command).toMatchObject({
      name,
      description: "how long",
      script: "uptime",
      os: "linux",
      shell: "bash",
      runAs: "root",
      timeoutSeconds: 120,
      queueTtlSeconds: 86_400,
      env: { A: "1" },
      parallel: false,
      files: [],
      launch: { type: "manual" },
      targets: { devices: [deviceId], deviceGroups: [groupId] },
      runners: [],
    });
    expect(command.id).toMatch(/^cmd_/);

    expect((await cp.api<Command>("GET", `/api/v1/commands/${command.id}`)).body).toEqual(command);
    expect((await cp.api<Command>("GET", `/api/v1/commands/${encodeURIComponent(name)}`)).body.id).toBe(command.id);
    const listed = await cp.api<Page<Command>>("GET", `/api/v1/commands?filter=${encodeURIComponent(`name:eq:${name}`)}`);
    expect(listed.status).toBe(200);
    expect(listed.body.results.map((c) => c.id)).toEqual([command.id]);

    const patched = await cp.api<Command>("PATCH", `/api/v1/commands/${command.id}`, { script: "uptime -p", timeoutSeconds: 5 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ script: "uptime -p", timeoutSeconds: 5, description: "how long", env: { A: "1" }, targets: command.targets });
    expect(patched.body.createdAt).toBe(command.createdAt);

    // A result outlives its command.
    const launched = await run(command.id);
    expect(launched.executions.map((e) => e.deviceId)).toEqual([deviceId]);
    expect((await cp.api("DELETE", `/api/v1/commands/${command.id}`)).status).toBe(204);
    expectError(await cp.api("GET", `/api/v1/commands/${command.id}`), 404);
    expectError(await cp.api("DELETE", `/api/v1/commands/${command.id}`), 404);
    expectError(await cp.api("POST", `/api/v1/commands/${command.id}/run`, {}), 404);
    const kept = await cp.api<Execution>("GET", `/api/v1/command-results/${launched.executions[0]!.id}`);
    expect(kept.status).toBe(200);
    expect(kept.body.commandName).toBe(name);
    // The name is free again.
    expect((await cp.api("POST", "/api/v1/commands", { name, script: "true", os: "linux" })).status).toBe(201);
  });

  it("keeps names unique (409 naming name), case-insensitively, on create and on rename", async () => {
    const a = await createCommand({});
    const b = await createCommand({});
    expectError(await cp.api("POST", "/api/v1/commands", { name: a.name, script: "x", os: "linux" }), 409, "name");
    expectError(await cp.api("POST", "/api/v1/commands", { name: a.name.toUpperCase(), script: "x", os: "linux" }), 409, "name");
    expectError(await cp.api("PATCH", `/api/v1/commands/${b.id}`, { name: a.name }), 409, "name");
    // Renaming to its own name is no clash.
    expect((await cp.api("PATCH", `/api/v1/commands/${a.id}`, { name: a.name })).status).toBe(200);
  });

  it("keeps trigger names unique (409 naming launch.name)", async () => {
    const trigger = `t-${tag()}`;
    const first = await createCommand({ launch: { type: "trigger", name: trigger } });
    expectError(await cp.api("POST", "/api/v1/commands", { name: `c-${tag()}`, script: "x", os: "linux", launch: { type: "trigger", name: trigger } }), 409, "launch.name");
    const other = await createCommand({});
    expectError(await cp.api("PATCH", `/api/v1/commands/${other.id}`, { launch: { type: "trigger", name: trigger.toUpperCase() } }), 409, "launch.name");
    expect((await cp.api("PATCH", `/api/v1/commands/${first.id}`, { description: "same trigger, same command" })).status).toBe(200);
  });

  it("refuses bad fields with 400 naming each", async () => {
    const base = { name: `bad-${tag()}`, script: "x", os: "linux" };
    const cases: [Record<string, unknown>, string][] = [
      [{ shell: "powershell" }, "shell"],
      [{ os: "windows", shell: "bash" }, "shell"],
      [{ shell: "fish" }, "shell"],
      [{ timeoutSeconds: 0 }, "timeoutSeconds"],
      [{ timeoutSeconds: 86_401 }, "timeoutSeconds"],
      [{ timeoutSeconds: 1.5 }, "timeoutSeconds"],
      [{ queueTtlSeconds: 0 }, "queueTtlSeconds"],
      [{ launch: { type: "schedule", cron: "61 * * * *" } }, "launch.cron"],
      [{ launch: { type: "schedule", cron: "every day at noon" } }, "launch.cron"],
      [{ launch: { type: "schedule", cron: "0 9 * * *", timezone: "Mars/Olympus_Mons" } }, "launch.timezone"],
      [{ launch: { type: "trigger", name: "has space" } }, "launch.name"],
      [{ launch: { type: "once", at: "tomorrow" } }, "launch.at"],
      [{ env: { "1BAD": "x" } }, "env.1BAD"],
      [{ env: { "A-B": "x" } }, "env.A-B"],
      [{ runAs: "system" }, "runAs"],
      [{ runAs: "Root Admin" }, "runAs"],
      [{ os: "windows", runAs: "root" }, "runAs"],
      [{ os: "plan9" }, "os"],
      [{ targets: { devices: ["dev_doesnotexist000000"] } }, "targets.devices"],
      [{ targets: { deviceGroups: ["grp_doesnotexist000000"] } }, "targets.deviceGroups"],
      [{ runners: ["key_doesnotexist000000"] }, "runners"],
      [{ files: [{ fileId: "file_doesnotexist00000", path: "/tmp/x" }] }, "files"],
      [{ surprise: true }, "body"],
    ];
    for (const [fields, field] of cases) {
      const res = await cp.api("POST", "/api/v1/commands", { ...base, ...fields });
      const error = expectError(res, 400, field);
      expect(error.code, JSON.stringify(fields)).toBe("validation_failed");
    }
    // None of them was saved.
    expectError(await cp.api("GET", `/api/v1/commands/${base.name}`), 404);
  });

  it("refuses a runner whose key is not a command-runner key (400 naming runners)", async () => {
    const admin = await cp.api("POST", "/api/v1/api-keys", { name: `adm-${tag()}`, role: "admin" });
    const reader = await cp.api("POST", "/api/v1/api-keys", { name: `ro-${tag()}`, role: "read-only" });
    for (const id of [admin.body.id, reader.body.id]) {
      const error = expectError(await cp.api("POST", "/api/v1/commands", { name: `r-${tag()}`, script: "x", os: "linux", runners: [id] }), 400, "runners");
      expect(error.message).toContain("command-runner");
    }
  });

  it("PATCH validates the merged command and fills OS defaults when only os changes", async () => {
    const command = await createCommand({ shell: "zsh", runAs: "nobody" });
    expectError(await cp.api("PATCH", `/api/v1/commands/${command.id}`, { shell: "cmd" }), 400, "shell");
    expectError(await cp.api("PATCH", `/api/v1/commands/${command.id}`, { timeoutSeconds: 0 }), 400, "timeoutSeconds");
    expectError(await cp.api("PATCH", `/api/v1/commands/${command.id}`, { launch: { type: "schedule", cron: "* * *" } }), 400, "launch.cron");
    expectError(await cp.api("PATCH", `/api/v1/commands/${command.id}`, { env: { "9LIVES": "x" } }), 400, "env.9LIVES");
    expectError(await cp.api("PATCH", `/api/v1/commands/${command.id}`, { os: "windows", shell: "bash" }), 400, "shell");
    // Nothing changed by the refused patches.
    expect((await cp.api<Command>("GET", `/api/v1/commands/${command.id}`)).body).toMatchObject({ shell: "zsh", runAs: "nobody", timeoutSeconds: 120, os: "linux" });

    const windows = await cp.api<Command>("PATCH", `/api/v1/commands/${command.id}`, { os: "windows" });
    expect(windows.status).toBe(200);
    expect(windows.body).toMatchObject({ os: "windows", shell: "powershell", runAs: "system" });
    const darwin = await cp.api<Command>("PATCH", `/api/v1/commands/${command.id}`, { os: "darwin", shell: "sh" });
    expect(darwin.body).toMatchObject({ os: "darwin", shell: "sh", runAs: "root" });
  });
});

describe("roles", () => {
  let runnerKey: string;
  let a: Command;
  let b: Command;
  let offline: string;

  beforeAll(async () => {
    const runner = await cp.api("POST", "/api/v1/api-keys", { name: `runner-${tag()}`, role: "command-runner" });
    expect(runner.status).toBe(201);
    runnerKey = runner.body.key;
    offline = await enrollAs("linux");
    a = await createCommand({ runners: [runner.body.id], targets: { devices: [offline] }, launch: { type: "trigger", name: `ta-${tag()}` } });
    b = await createCommand({ targets: { devices: [offline] }, launch: { type: "trigger", name: `tb-${tag()}` } });
  });

  it("a command-runner key lists, gets and runs only the commands it is a runner of", async () => {
    const listed = await cp.api<Page<Command>>("GET", "/api/v1/commands?limit=1000", undefined, runnerKey);
    expect(listed.status).toBe(200);
    expect(listed.body.results.map((c) => c.id)).toEqual([a.id]);
    expect(listed.body.totalCount).toBe(1);
    expect((await cp.api("GET", `/api/v1/commands/${a.id}`, undefined, runnerKey)).status).toBe(200);
    expectError(await cp.api("GET", `/api/v1/commands/${b.id}`, undefined, runnerKey), 403);

    const ran = await cp.api<LaunchResult>("POST", `/api/v1/commands/${a.id}/run`, {}, runnerKey);
    expect(ran.status).toBe(201);
    expect(ran.body.executions[0]).toMatchObject({ commandId: a.id, deviceId: offline, status: "queued" });
    expectError(await cp.api("POST", `/api/v1/commands/${b.id}/run`, {}, runnerKey), 403);
    expect((await cp.api("POST", `/api/v1/command-triggers/${(a.launch as { name: string }).name}`, {}, runnerKey)).status).toBe(201);
    expectError(await cp.api("POST", `/api/v1/command-triggers/${(b.launch as { name: string }).name}`, {}, runnerKey), 403);
  });

  it("a command-runner key can do nothing else", async () => {
    expectError(await cp.api("POST", "/api/v1/commands", { name: `x-${tag()}`, script: "x", os: "linux" }, runnerKey), 403);
    expectError(await cp.api("PATCH", `/api/v1/commands/${a.id}`, { script: "rm -rf /" }, runnerKey), 403);
    expectError(await cp.api("DELETE", `/api/v1/commands/${a.id}`, undefined, runnerKey), 403);
    expectError(await cp.api("POST", "/api/v1/command-runs", { script: "x", os: "linux", targets: { devices: [offline] } }, runnerKey), 403);
    expectError(await cp.api("GET", "/api/v1/devices", undefined, runnerKey), 403);
    expectError(await cp.api("GET", `/api/v1/devices/${offline}`, undefined, runnerKey), 403);
    expectError(await cp.api("GET", "/api/v1/api-keys", undefined, runnerKey), 403);
    expectError(await cp.api("GET", "/api/v1/files", undefined, runnerKey), 403);
    // The command it may run is unchanged.
    expect((await cp.api<Command>("GET", `/api/v1/commands/${a.id}`)).body.script).toBe("echo hi");
  });

  it("a command-runner key reads and cancels only its commands' results", async () => {
    const mine = await runOne(a.id);
    const theirs = await runOne(b.id);
    const own = await cp.api<Execution>("GET", `/api/v1/command-results/${mine.id}`, undefined, runnerKey);
    expect(own.status).toBe(200);
    expect(own.body.commandId).toBe(a.id);
    const other = await cp.api("GET", `/api/v1/command-results/${theirs.id}`, undefined, runnerKey);
    expect([403, 404]).toContain(other.status);
    expectError(other, other.status);

    const list = await cp.api<Page<Execution>>("GET", "/api/v1/command-results?limit=1000", undefined, runnerKey);
    expect(list.status).toBe(200);
    expect(list.body.results.length).toBeGreaterThan(0);
    expect(new Set(list.body.results.map((e) => e.commandId))).toEqual(new Set([a.id]));
    // Filtering by the other command's id does not reveal it either.
    const filtered = await cp.api<Page<Execution>>("GET", `/api/v1/command-results?filter=commandId:eq:${b.id}`, undefined, runnerKey);
    expect(filtered.body.results).toEqual([]);

    const canceled = await cp.api<Execution>("POST", `/api/v1/command-results/${mine.id}/cancel`, undefined, runnerKey);
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe("canceled");
    const refused = await cp.api("POST", `/api/v1/command-results/${theirs.id}/cancel`, undefined, runnerKey);
    expect([403, 404]).toContain(refused.status);
    expect(await statusOf(theirs.id)).toBe("queued");
  });

  it("a read-only key lists commands and results but runs and cancels nothing", async () => {
    const queued = await runOne(b.id);
    const commands = await cp.api<Page<Command>>("GET", "/api/v1/commands?limit=1000", undefined, readOnlyKey);
    expect(commands.status).toBe(200);
    expect(commands.body.results.map((c) => c.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    expect((await cp.api("GET", "/api/v1/command-results", undefined, readOnlyKey)).status).toBe(200);
    expect((await cp.api("GET", `/api/v1/command-results/${queued.id}`, undefined, readOnlyKey)).status).toBe(200);
    expectError(await cp.api("POST", `/api/v1/commands/${b.id}/run`, {}, readOnlyKey), 403);
    expectError(await cp.api("POST", `/api/v1/command-triggers/${(b.launch as { name: string }).name}`, {}, readOnlyKey), 403);
    expectError(await cp.api("POST", `/api/v1/command-results/${queued.id}/cancel`, undefined, readOnlyKey), 403);
    expectError(await cp.api("POST", "/api/v1/commands", { name: `x-${tag()}`, script: "x", os: "linux" }, readOnlyKey), 403);
    expect(await statusOf(queued.id)).toBe("queued");
    expectError(await cp.api("GET", "/api/v1/commands", undefined, null), 401);
  });
});

describe("runs and delivery", () => {
  let one: { device: RawCredentials; session: RawSession };
  let two: { device: RawCredentials; session: RawSession };
  let command: Command;

  beforeAll(async () => {
    [one, two] = await Promise.all([online(), online()]);
    const group = await cp.api("POST", "/api/v1/device-groups", { name: `pair-${tag()}` });
    await cp.api("POST", `/api/v1/device-groups/${group.body.id}/members`, { deviceIds: [one.device.deviceId, two.device.deviceId] });
    command = await createCommand({
      script: "echo hi",
      shell: "sh",
      runAs: "nobody",
      env: { GREETING: "hi" },
      timeoutSeconds: 30,
      targets: { deviceGroups: [group.body.id] },
    });
  });

  it("sends each device of a group its own execution with the spec", async () => {
    const launched = await run(command.id);
    expect(launched.executions).toHaveLength(2);
    expect(launched.skipped).toEqual([]);
    expect(launched.executions.map((e) => e.deviceId).sort()).toEqual([one.device.deviceId, two.device.deviceId].sort());
    for (const e of launched.executions) {
      expect(e).toMatchObject({ status: "sent", runId: launched.runId, commandId: command.id, commandName: command.name, exitCode: null });
      expect(e.sentAt).not.toBeNull();
    }
    const ids = new Set(launched.executions.map((e) => e.id));
    expect(ids.size).toBe(2);

    for (const { device, session } of [one, two]) {
      const spec = await nextRun(session);
      const mine = launched.executions.find((e) => e.deviceId === device.deviceId)!;
      expect(spec).toEqual({
        executionId: mine.id,
        script: "echo hi",
        shell: "sh",
        runAs: "nobody",
        env: { GREETING: "hi" },
        timeoutSeconds: 30,
        files: [],
        outputLimitBytes: 1_048_576,
      });
    }

    // The first answers started, output, result: stored and acknowledged.
    const first = launched.executions.find((e) => e.deviceId === one.device.deviceId)!;
    const startedAt = new Date(Date.now() - 2000);
    one.session.send({ type: "exec.started", executionId: first.id, startedAt: startedAt.toISOString() });
    await waitFor(async () => (await statusOf(first.id)) === "running", { message: "running" });
    one.session.send({ type: "exec.output", executionId: first.id, stream: "stdout", chunk: "hi\n" });
    const finishedAt = new Date(startedAt.getTime() + 1234).toISOString();
    await finish(one.session, first.id, { stdout: "hi\n", stderr: "", exitCode: 0, status: "succeeded", startedAt: startedAt.toISOString(), finishedAt });
    const stored = await result(first.id);
    expect(stored).toMatchObject({
      status: "succeeded",
      exitCode: 0,
      stdout: "hi\n",
      stderr: "",
      stdoutTruncated: false,
      startedAt: startedAt.toISOString(),
      finishedAt,
      durationMs: 1234,
    });

    // The second fails, with its stderr kept and flagged truncated.
    const second = launched.executions.find((e) => e.deviceId === two.device.deviceId)!;
    await finish(two.session, second.id, { status: "failed", exitCode: 3, stderr: "…boom\n", stderrTruncated: true, startedAt: new Date().toISOString() });
    expect(await result(second.id)).toMatchObject({ status: "failed", exitCode: 3, stderr: "…boom\n", stderrTruncated: true });

    // A repeated result (the agent's outbox re-sending) changes nothing and is acked again.
    await finish(one.session, first.id, { stdout: "something else\n", exitCode: 1, status: "failed", finishedAt: new Date().toISOString() });
    const again = await result(first.id);
    expect(again).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "hi\n", finishedAt, durationMs: 1234 });

    // The list shows both, without output.
    const listed = await cp.api<Page<Execution>>("GET", `/api/v1/command-results?filter=runId:eq:${launched.runId}`);
    expect(listed.body.totalCount).toBe(2);
    expect(listed.body.results.map((e) => e.status).sort()).toEqual(["failed", "succeeded"]);
    expect(listed.body.results[0]!.stdout).toBeUndefined();
    const failedOnly = await cp.api<Page<Execution>>("GET", `/api/v1/command-results?filter=runId:eq:${launched.runId}&filter=status:eq:failed`);
    expect(failedOnly.body.results.map((e) => e.id)).toEqual([second.id]);
  });

  it("does not store or acknowledge a result, or a start, for another device's execution", async () => {
    const launched = await run(command.id, { deviceIds: [one.device.deviceId] });
    expect(launched.executions).toHaveLength(1);
    const target = launched.executions[0]!;
    expect((await nextRun(one.session)).executionId).toBe(target.id);

    two.session.send({ type: "exec.started", executionId: target.id, startedAt: new Date().toISOString() });
    two.session.send(resultFrame(target.id, { stdout: "forged", exitCode: 0 }));
    await expectNone(two.session, "exec.ack");
    const untouched = await result(target.id);
    expect(untouched).toMatchObject({ status: "sent", stdout: "", exitCode: null, startedAt: null, finishedAt: null });

    // Nor may it write into the live output of the execution once the right device runs it.
    one.session.send({ type: "exec.started", executionId: target.id, startedAt: new Date().toISOString() });
    one.session.send({ type: "exec.output", executionId: target.id, stream: "stdout", chunk: "mine\n" });
    await waitFor(async () => (await result(target.id)).stdout === "mine\n", { message: "live output" });
    two.session.send({ type: "exec.output", executionId: target.id, stream: "stdout", chunk: "forged\n" });
    two.session.send(resultFrame(target.id, { stdout: "forged", exitCode: 0 }));
    one.session.send({ type: "exec.output", executionId: target.id, stream: "stderr", chunk: "marker\n" });
    const live = await waitFor(async () => {
      const r = await result(target.id);
      return r.stderr === "marker\n" && r;
    }, { message: "marker" });
    expect(live).toMatchObject({ status: "running", stdout: "mine\n" });

    await finish(one.session, target.id, { stdout: "real\n", startedAt: new Date().toISOString() });
    expect(await result(target.id)).toMatchObject({ status: "succeeded", stdout: "real\n" });
  });

  it("narrowing a run to a device that is not a target is refused", async () => {
    const outsider = await enrollAs("linux");
    expectError(await cp.api("POST", `/api/v1/commands/${command.id}/run`, { deviceIds: [outsider] }), 400, "deviceIds");
    expectError(await cp.api("POST", `/api/v1/commands/${command.id}/run`, { deviceIds: [] }), 400, "deviceIds");
  });
});

describe("per-device order", () => {
  it("sends sequential executions one at a time, in order; a parallel one goes at once", async () => {
    const { device, session } = await online();
    const targets = { devices: [device.deviceId] };
    const [c1, c2, c3] = [await createCommand({ targets, script: "echo 1" }), await createCommand({ targets, script: "echo 2" }), await createCommand({ targets, script: "echo 3" })];
    const parallel = await createCommand({ targets, script: "echo p", parallel: true });

    const e1 = await runOne(c1!.id);
    const e2 = await runOne(c2!.id);
    const e3 = await runOne(c3!.id);
    expect([e1.status, e2.status, e3.status]).toEqual(["sent", "queued", "queued"]);
    expect((await nextRun(session)).executionId).toBe(e1.id);
    await expectNone(session, "exec.run");

    session.send({ type: "exec.started", executionId: e1.id, startedAt: new Date().toISOString() });
    await waitFor(async () => (await statusOf(e1.id)) === "running", { message: "e1 running" });
    // Parallel: sent at once, although e1 runs.
    const ep = await runOne(parallel.id);
    expect(ep.status).toBe("sent");
    expect((await nextRun(session)).executionId).toBe(ep.id);
    expect([await statusOf(e2.id), await statusOf(e3.id)]).toEqual(["queued", "queued"]);

    await finish(session, e1.id);
    expect((await nextRun(session)).executionId).toBe(e2.id);
    expect([await statusOf(e2.id), await statusOf(e3.id)]).toEqual(["sent", "queued"]);
    await expectNone(session, "exec.run");

    // A failed result frees the device just as well.
    await finish(session, e2.id, { status: "failed", exitCode: 2 });
    const s3 = await nextRun(session);
    expect(s3).toMatchObject({ executionId: e3.id, script: "echo 3" });
    await finish(session, e3.id);
    await finish(session, ep.id);
    await expectNone(session, "exec.run", 400);
    expect(await statusOf(ep.id)).toBe("succeeded");
  });
});

describe("offline devices", () => {
  it("queues for an offline device and delivers when it connects", async () => {
    const device = await enrollRaw(cp, `late-${tag()}`);
    const command = await createCommand({ targets: { devices: [device.deviceId] } });
    const queued = await runOne(command.id);
    expect(queued).toMatchObject({ status: "queued", sentAt: null });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await statusOf(queued.id)).toBe("queued");

    const session = await connect(device);
    expect((await nextRun(session)).executionId).toBe(queued.id);
    const sent = await result(queued.id);
    expect(sent.status).toBe("sent");
    expect(sent.sentAt).not.toBeNull();
    await finish(session, queued.id);
  });

  it("expires a run whose queue time passes, and never delivers it", async () => {
    const device = await enrollRaw(cp, `ttl-${tag()}`);
    const short = await createCommand({ targets: { devices: [device.deviceId] }, queueTtlSeconds: 1, script: "echo too late" });
    const normal = await createCommand({ targets: { devices: [device.deviceId] }, script: "echo in time" });
    const doomed = await runOne(short.id);
    expect(doomed.status).toBe("queued");
    expect(Date.parse(doomed.expiresAt) - Date.parse(doomed.requestedAt)).toBe(1000);
    const later = await runOne(normal.id);

    const expired = await waitFor(async () => {
      const r = await result(doomed.id);
      return r.status === "expired" && r;
    }, { timeoutMs: 10_000, message: "expired" });
    expect(expired.finishedAt).not.toBeNull();
    expect(expired.sentAt).toBeNull();
    expectError(await cp.api("POST", `/api/v1/command-results/${doomed.id}/cancel`), 409);

    const session = await connect(device);
    expect((await nextRun(session)).executionId).toBe(later.id);
    await finish(session, later.id);
    await expectNone(session, "exec.run", 800);
    expect(await statusOf(doomed.id)).toBe("expired");
  });
});

describe("live output and cancel", () => {
  let device: RawCredentials;
  let session: RawSession;
  let command: Command;

  beforeAll(async () => {
    ({ device, session } = await online());
    command = await createCommand({ targets: { devices: [device.deviceId] }, parallel: true });
  });

  it("shows the output streamed so far while it runs", async () => {
    const e = await runOne(command.id);
    await nextRun(session);
    session.send({ type: "exec.started", executionId: e.id, startedAt: new Date().toISOString() });
    session.send({ type: "exec.output", executionId: e.id, stream: "stdout", chunk: "step 1\n" });
    session.send({ type: "exec.output", executionId: e.id, stream: "stderr", chunk: "warning\n" });
    const live = await waitFor(async () => {
      const r = await result(e.id);
      return r.stdout === "step 1\n" && r.stderr === "warning\n" && r;
    }, { message: "first output" });
    expect(live).toMatchObject({ status: "running", finishedAt: null, exitCode: null });

    session.send({ type: "exec.output", executionId: e.id, stream: "stdout", chunk: "step 2 ✓\n" });
    await waitFor(async () => (await result(e.id)).stdout === "step 1\nstep 2 ✓\n", { message: "second output" });
    // The list view never carries output.
    const listed = await cp.api<Page<Execution>>("GET", `/api/v1/command-results?filter=deviceId:eq:${device.deviceId}&filter=status:eq:running`);
    expect(listed.body.results.map((r) => r.id)).toContain(e.id);
    expect(listed.body.results[0]!.stdout).toBeUndefined();

    // The final result carries the kept tail; the live buffer is gone.
    await finish(session, e.id, { stdout: "step 1\nstep 2 ✓\ndone\n", stderr: "warning\n" });
    expect(await result(e.id)).toMatchObject({ status: "succeeded", stdout: "step 1\nstep 2 ✓\ndone\n", stderr: "warning\n" });
  });

  it("cancels a queued execution at once", async () => {
    const offline = await enrollRaw(cp, `cq-${tag()}`);
    const queuedCommand = await createCommand({ targets: { devices: [offline.deviceId] } });
    const e = await runOne(queuedCommand.id);
    const canceled = await cp.api<Execution>("POST", `/api/v1/command-results/${e.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ status: "canceled", cancelRequested: true });
    expect(canceled.body.finishedAt).not.toBeNull();
    expectError(await cp.api("POST", `/api/v1/command-results/${e.id}/cancel`), 409);
    expectError(await cp.api("POST", "/api/v1/command-results/exe_doesnotexist0000000/cancel"), 404);

    const late = await connect(offline);
    await expectNone(late, "exec.run");
    expect(await statusOf(e.id)).toBe("canceled");
  });

  it("cancels a running execution by telling the agent, and records the agent's canceled result", async () => {
    const e = await runOne(command.id);
    await nextRun(session);
    session.send({ type: "exec.started", executionId: e.id, startedAt: new Date().toISOString() });
    await waitFor(async () => (await statusOf(e.id)) === "running", { message: "running" });

    const asked = await cp.api<Execution>("POST", `/api/v1/command-results/${e.id}/cancel`);
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({ status: "running", cancelRequested: true, finishedAt: null });
    expect(await session.next("exec.cancel")).toEqual({ type: "exec.cancel", executionId: e.id });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await statusOf(e.id)).toBe("running");

    await finish(session, e.id, { status: "canceled", exitCode: null, stdout: "partial\n" });
    expect(await result(e.id)).toMatchObject({ status: "canceled", exitCode: null, stdout: "partial\n", cancelRequested: true });
    expectError(await cp.api("POST", `/api/v1/command-results/${e.id}/cancel`), 409);
  });
});

describe("redelivery", () => {
  it("re-sends an execution whose session closed before answering, with the same id", async () => {
    const device = await enrollRaw(cp, `redo-${tag()}`);
    let session = await connect(device);
    const command = await createCommand({ targets: { devices: [device.deviceId] } });
    const e = await runOne(command.id);
    const first = await nextRun(session);
    expect(first.executionId).toBe(e.id);
    session.ws.close();
    await session.closed;
    await waitFor(async () => (await cp.api("GET", `/api/v1/devices/${device.deviceId}`)).body.status === "offline", { message: "offline" });
    expect(await statusOf(e.id)).toBe("sent");

    session = await connect(device);
    const again = await nextRun(session);
    expect(again).toEqual(first);
    await expectNone(session, "exec.run", 400);
    await finish(session, e.id, { stdout: "once\n" });
    expect(await result(e.id)).toMatchObject({ status: "succeeded", stdout: "once\n" });

    // Finished: a further reconnect sends nothing.
    session.ws.close();
    await session.closed;
    session = await connect(device);
    await expectNone(session, "exec.run");
  });

  it("re-sends a running execution and its pending cancel after a reconnect", async () => {
    const device = await enrollRaw(cp, `redo-c-${tag()}`);
    let session = await connect(device);
    const command = await createCommand({ targets: { devices: [device.deviceId] } });
    const e = await runOne(command.id);
    await nextRun(session);
    session.send({ type: "exec.started", executionId: e.id, startedAt: new Date().toISOString() });
    await waitFor(async () => (await statusOf(e.id)) === "running", { message: "running" });
    session.ws.close();
    await session.closed;
    await waitFor(async () => (await cp.api("GET", `/api/v1/devices/${device.deviceId}`)).body.status === "offline", { message: "offline" });
    expect((await cp.api<Execution>("POST", `/api/v1/command-results/${e.id}/cancel`)).body.status).toBe("running");

    session = await connect(device);
    expect((await nextRun(session)).executionId).toBe(e.id);
    expect(await session.next("exec.cancel")).toEqual({ type: "exec.cancel", executionId: e.id });
    await finish(session, e.id, { status: "canceled", exitCode: null });
    expect(await statusOf(e.id)).toBe("canceled");
  });
});

describe("triggers", () => {
  it("runs the command with the body's keys as environment variables, on top of its own", async () => {
    const { device, session } = await online();
    const name = `deploy-${tag()}`;
    const command = await createCommand({ targets: { devices: [device.deviceId] }, env: { OWN: "yes", FOO: "default" }, launch: { type: "trigger", name } });
    const fired = await cp.api<LaunchResult>("POST", `/api/v1/command-triggers/${name}`, { FOO: "bar", N: 3, obj: { a: 1 }, flag: true });
    expect(fired.status).toBe(201);
    expect(fired.body.executions).toHaveLength(1);
    expect(fired.body.executions[0]).toMatchObject({ commandId: command.id, deviceId: device.deviceId });
    const spec = await nextRun(session);
    expect(spec.executionId).toBe(fired.body.executions[0]!.id);
    expect(spec.env).toEqual({ OWN: "yes", FOO: "bar", N: "3", obj: '{"a":1}', flag: "true" });
    await finish(session, spec.executionId);

    // The trigger's variables belong to that run only: the saved command is unchanged.
    expect((await cp.api<Command>("GET", `/api/v1/commands/${command.id}`)).body.env).toEqual({ OWN: "yes", FOO: "default" });
    const plain = await run(command.id);
    expect((await nextRun(session)).env).toEqual({ OWN: "yes", FOO: "default" });
    await finish(session, plain.executions[0]!.id);
  });

  it("refuses body keys that are not variable names, naming them, and unknown triggers", async () => {
    const name = `hook-${tag()}`;
    await createCommand({ launch: { type: "trigger", name } });
    const bad = expectError(await cp.api("POST", `/api/v1/command-triggers/${name}`, { "BAD-NAME": "x", OK: "y" }), 400, "BAD-NAME");
    expect(bad.message).toContain("BAD-NAME");
    expectError(await cp.api("POST", `/api/v1/command-triggers/${name}`, { "1X": "x" }), 400, "1X");
    expectError(await cp.api("POST", `/api/v1/command-triggers/no-such-trigger-${tag()}`, {}), 404);
    expectError(await cp.api("POST", `/api/v1/command-triggers/${name}`, [1, 2]), 400);
    expectError(await cp.api("POST", `/api/v1/command-triggers/${name}`, {}, null), 401);
  });
});

describe("files", () => {
  it("uploads raw bytes and reports their size and SHA-256", async () => {
    const bytes = randomBytes(3000);
    const res = await upload(cp, "payload.bin", bytes);
    expect(res.status, res.body.toString()).toBe(201);
    const info = res.json();
    expect(info).toMatchObject({ name: "payload.bin", size: 3000, sha256: createHash("sha256").update(bytes).digest("hex") });
    expect(info.id).toMatch(/^file_/);
    expect((await cp.api("GET", `/api/v1/files/${String(info.id)}`)).body).toMatchObject({ sha256: info.sha256, size: 3000 });
  });

  it("refuses a file past the limit with 413, a JSON body with 415, and a missing name with 400", async () => {
    const over = await upload(small, "big.bin", randomBytes(2048));
    expect(over.status).toBe(413);
    expect(over.json().error.code).toBe("payload_too_large");
    // The message names the file limit, not the (larger) JSON body limit.
    expect(over.json().error.message).toContain("1kb");
    expect((await upload(small, "fits.bin", randomBytes(1000))).status).toBe(201);

    const json = await cp.api("POST", "/api/v1/files?name=x.txt", { not: "a file" });
    expectError(json, 415);
    const noName = await rawRequest(cp, "POST", "/api/v1/files", { body: Buffer.from("x"), contentType: "application/octet-stream", apiKey: cp.adminApiKey });
    expect(noName.status).toBe(400);
    expect(noName.json().error.details?.map((d) => d.field)).toContain("name");
    const unauthenticated = await rawRequest(cp, "POST", "/api/v1/files?name=x.txt", { body: Buffer.from("x"), contentType: "application/octet-stream" });
    expect(unauthenticated.status).toBe(401);
    const reader = await rawRequest(cp, "POST", "/api/v1/files?name=x.txt", { body: Buffer.from("x"), contentType: "application/octet-stream", apiKey: readOnlyKey });
    expect(reader.status).toBe(403);
  });

  it("sends attachments with the execution and serves their bytes to the device's certificate only", async () => {
    const { device, session } = await online();
    const bytes = Buffer.from("#!/bin/sh\necho attached\n");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const uploaded = (await upload(cp, "x.txt", bytes)).json();
    const command = await createCommand({ targets: { devices: [device.deviceId] }, files: [{ fileId: uploaded.id, path: "/opt/tether/x.txt" }] });
    expect(command.files).toEqual([{ fileId: uploaded.id, path: "/opt/tether/x.txt", name: "x.txt", size: bytes.length, sha256 }]);

    const e = await runOne(command.id);
    const spec = await nextRun(session);
    expect(spec.executionId).toBe(e.id);
    expect(spec.files).toEqual([{ path: "/opt/tether/x.txt", sha256, size: bytes.length }]);

    const download = await rawRequest(cp, "GET", `/agent/v1/files/${sha256}`, { cert: device });
    expect(download.status).toBe(200);
    expect(download.body.equals(bytes)).toBe(true);
    const anonymous = await rawRequest(cp, "GET", `/agent/v1/files/${sha256}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json().error.code).toBe("client_certificate_required");
    // An API key is no substitute for the device certificate.
    expect((await rawRequest(cp, "GET", `/agent/v1/files/${sha256}`, { apiKey: cp.adminApiKey })).status).toBe(401);
    expect((await rawRequest(cp, "GET", `/agent/v1/files/${"0".repeat(64)}`, { cert: device })).status).toBe(404);
    expect((await rawRequest(cp, "GET", "/agent/v1/files/not-a-hash", { cert: device })).status).toBe(400);
    await finish(session, e.id);

    // Paths must be absolute, without '..', and distinct.
    for (const path of ["relative/x.txt", "/opt/../etc/passwd"]) {
      expectError(await cp.api("POST", "/api/v1/commands", { name: `f-${tag()}`, script: "x", os: "linux", files: [{ fileId: uploaded.id, path }] }), 400, "files.0.path");
    }
    const twice = [{ fileId: uploaded.id, path: "/a" }, { fileId: uploaded.id, path: "/a" }];
    expectError(await cp.api("POST", "/api/v1/commands", { name: `f-${tag()}`, script: "x", os: "linux", files: twice }), 400, "files");
  });
});

describe("ad-hoc runs", () => {
  it("runs a script without saving it, skipping devices on another OS", async () => {
    const { device, session } = await online();
    const windows = await enrollAs("windows");
    const res = await cp.api<LaunchResult>("POST", "/api/v1/command-runs", {
      script: "uname -a",
      os: "linux",
      env: { X: "1" },
      targets: { devices: [device.deviceId, windows] },
    });
    expect(res.status).toBe(201);
    expect(res.body.executions).toHaveLength(1);
    expect(res.body.executions[0]).toMatchObject({ deviceId: device.deviceId, commandId: null, status: "sent" });
    expect(res.body.skipped).toHaveLength(1);
    expect(res.body.skipped[0]!.deviceId).toBe(windows);
    expect(res.body.skipped[0]!.reason).toContain("windows");

    const spec = await nextRun(session);
    expect(spec).toMatchObject({ executionId: res.body.executions[0]!.id, script: "uname -a", shell: "bash", runAs: "root", env: { X: "1" }, timeoutSeconds: 120 });
    await finish(session, spec.executionId, { stdout: "Linux\n" });
    expect(await result(spec.executionId)).toMatchObject({ status: "succeeded", stdout: "Linux\n", commandId: null });

    // No command was saved for it.
    const commands = await cp.api<Page<Command>>("GET", "/api/v1/commands?filter=name:eq:uname%20-a");
    expect(commands.body.totalCount).toBe(0);
  });

  it("validates ad-hoc runs like saved commands", async () => {
    const target = await enrollAs("linux");
    const base = { script: "x", os: "linux", targets: { devices: [target] } };
    expectError(await cp.api("POST", "/api/v1/command-runs", { ...base, shell: "cmd" }), 400, "shell");
    expectError(await cp.api("POST", "/api/v1/command-runs", { ...base, timeoutSeconds: 86_401 }), 400, "timeoutSeconds");
    expectError(await cp.api("POST", "/api/v1/command-runs", { ...base, env: { "A-B": "x" } }), 400, "env.A-B");
    expectError(await cp.api("POST", "/api/v1/command-runs", { ...base, targets: { devices: ["dev_nosuchdevice0000000"] } }), 400, "targets.devices");
    expectError(await cp.api("POST", "/api/v1/command-runs", { script: "x", os: "linux" }), 400, "targets");
    expectError(await cp.api("POST", "/api/v1/command-runs", { ...base, launch: { type: "manual" } }), 400);
    const list = await cp.api<Page<Execution>>("GET", `/api/v1/command-results?filter=deviceId:eq:${target}`);
    expect(list.body.totalCount).toBe(0);
  });
});

describe("errors", () => {
  it("answers unknown ids and bad queries with 4xx", async () => {
    expectError(await cp.api("GET", "/api/v1/command-results/exe_nosuchexecution00000"), 404);
    expectError(await cp.api("GET", "/api/v1/command-results?filter=status:eq:exploded"), 400);
    expectError(await cp.api("GET", "/api/v1/command-results?sort=stdout"), 400);
    expectError(await cp.api("GET", "/api/v1/commands?filter=script:eq:x"), 400);
    expectError(await cp.api("PATCH", "/api/v1/commands/cmd_nosuchcommand0000000", { script: "x" }), 404);
    expectError(await cp.api("PATCH", "/api/v1/commands/cmd_nosuchcommand0000000", { nope: 1 }), 400);
  });

  it("never answered 500 during this file", async () => {
    const metrics = await rawRequest(cp, "GET", "/metrics");
    expect(metrics.status).toBe(200);
    const text = metrics.body.toString();
    expect(text).toContain("status=\"201\"");
    expect(text).not.toMatch(/status="5\d\d"/);
    const smallMetrics = (await rawRequest(small, "GET", "/metrics")).body.toString();
    expect(smallMetrics).toContain("status=\"413\"");
    expect(smallMetrics).not.toMatch(/status="5\d\d"/);
    expect(cp.logs()).not.toContain("request failed");
    expect(cp.logs()).not.toContain("failed to handle agent message");
  });
});
