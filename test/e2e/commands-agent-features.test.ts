// The agent process runs in a private mount namespace where /etc and /home are copies, so a real
// non-root user can be created for runAs without touching this machine's accounts. The control plane
// runs outside; they talk over 127.0.0.1 as usual.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestJson } from "../../shared/src/http-client.js";
import { REPO_ROOT, startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/wait.js";

const USER = "tetherrunner";
const FINAL = ["succeeded", "failed", "timed_out", "canceled", "interrupted", "error", "expired"];

describe("commands on a real agent: runAs, shebang, files, triggers, timeout", () => {
  let cp: TestControlPlane;
  let work: string;
  let agent: ChildProcess;
  let agentLog = "";
  let deviceId: string;

  beforeAll(async () => {
    cp = await startControlPlane();
    work = await mkdtemp(join(tmpdir(), "tether-ns-"));
    await execa("cp", ["-a", "/etc", join(work, "etc")]);
    await mkdir(join(work, "home"));
    const script = [
      'mount --bind "$T/etc" /etc',
      'mount --bind "$T/home" /home',
      `useradd -m -s /bin/bash ${USER}`,
      'exec "$NODE" --import tsx "$CLI" run --state-dir "$T/state" --connect-key "$KEY"',
    ].join(" && ");
    agent = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], {
      cwd: REPO_ROOT,
      env: { ...process.env, T: work, NODE: process.execPath, CLI: join(REPO_ROOT, "agent/src/cli.ts"), KEY: cp.connectKey, TETHER_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    agent.stdout!.on("data", (c: Buffer) => (agentLog += c.toString()));
    agent.stderr!.on("data", (c: Buffer) => (agentLog += c.toString()));
    const device = await waitFor(async () => (await cp.api("GET", "/api/v1/devices?filter=status:eq:online")).body.results[0], {
      timeoutMs: 30_000,
      message: "the namespaced agent online",
    });
    deviceId = device.id;
  });
  afterAll(async () => {
    agent?.kill("SIGTERM");
    await new Promise((r) => agent?.once("exit", r));
    await cp.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  const finished = (id: string) =>
    waitFor(async () => {
      const r = (await cp.api("GET", `/api/v1/command-results/${id}`)).body;
      return FINAL.includes(r.status) ? r : false;
    }, { timeoutMs: 30_000, message: `execution ${id}; agent log:\n${agentLog}` });
  const runOnce = async (fields: Record<string, unknown>) => {
    const created = await cp.api("POST", "/api/v1/command-runs", { os: "linux", targets: { devices: [deviceId] }, ...fields });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return finished(created.body.executions[0].id);
  };

  it("runs as a real local user with that user's identity and home, not root's", async () => {
    const result = await runOnce({ script: 'echo "$(id -un) $HOME $USER"; id -u', runAs: USER });
    expect(result.status).toBe("succeeded");
    const [who, uid] = result.stdout.trim().split("\n");
    expect(who).toBe(`${USER} /home/${USER} ${USER}`);
    expect(Number(uid)).toBeGreaterThan(0);
  });

  it("reports an unknown user as an error with the reason, running nothing", async () => {
    const result = await runOnce({ script: "echo nope", runAs: "nosuchuser" });
    expect(result.status).toBe("error");
    expect(result.error).toMatch(/nosuchuser/);
    expect(result.stdout).toBe("");
  });

  it("lets a shebang line choose the interpreter", async () => {
    const result = await runOnce({ script: '#!/usr/bin/env python3\nimport sys\nprint("python", sys.version_info[0])' });
    expect(result).toMatchObject({ status: "succeeded", stdout: "python 3\n" });
  });

  it("places an attached file before the script starts, and refuses one whose checksum does not match", async () => {
    const bytes = Buffer.from("attached content\n");
    const upload = await requestJson<{ id: string; sha256: string }>({
      url: `${cp.url}/api/v1/files?name=in.txt`,
      method: "POST",
      ca: cp.caPem,
      headers: { "x-api-key": cp.adminApiKey, "content-type": "application/octet-stream" },
      rawBody: bytes,
    });
    expect(upload.status).toBe(201);
    expect(upload.body!.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    const good = await runOnce({ script: "cat /home/tether-files/in.txt", files: [{ fileId: upload.body!.id, path: "/home/tether-files/in.txt" }] });
    expect(good).toMatchObject({ status: "succeeded", stdout: "attached content\n" });

    // Corrupt the stored copy: the agent must notice and run nothing. (/home is the namespace copy.)
    await writeFile(join(cp.dataDir, "files", upload.body!.sha256), "tampered\n");
    const bad = await runOnce({ script: "echo ran > /tmp/tether-should-not-exist", files: [{ fileId: upload.body!.id, path: "/home/tether-files/in2.txt" }] });
    expect(bad.status).toBe("error");
    expect(bad.error).toMatch(/SHA-256|checksum|sha256/i);
  });

  it("passes a trigger's JSON keys to the script as environment variables", async () => {
    const created = await cp.api("POST", "/api/v1/commands", {
      name: "greet",
      script: 'echo "$WHO/$COUNT/$EXTRA"',
      os: "linux",
      env: { EXTRA: "fixed" },
      launch: { type: "trigger", name: "greet-hook" },
      targets: { devices: [deviceId] },
    });
    expect(created.status).toBe(201);
    const fired = await cp.api("POST", "/api/v1/command-triggers/greet-hook", { WHO: "world", COUNT: 3 });
    expect(fired.status).toBe(201);
    expect(await finished(fired.body.executions[0].id)).toMatchObject({ status: "succeeded", stdout: "world/3/fixed\n" });
  });

  it("times out with exit code 124", async () => {
    const result = await runOnce({ script: "sleep 30", timeoutSeconds: 1 });
    expect(result).toMatchObject({ status: "timed_out", exitCode: 124 });
  });
});
