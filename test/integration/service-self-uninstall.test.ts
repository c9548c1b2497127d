// A deleted device's installed agent removes its own service. The "machine" is a private mount
// namespace whose /etc (a copy), /usr/local/bin and /usr/bin/systemctl (a script that records its
// arguments) come from a scratch root where `tether-agent install --root` put the agent. Inside, the agent
// runs exactly as its unit says, `/usr/local/bin/tether-agent run`, with nothing but agent.json.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../agent/src/exit-codes.js";
import { REPO_ROOT, startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/wait.js";
import { runnerEnv } from "../helpers/child.js";

const CLI = join(REPO_ROOT, "agent/src/cli.ts");

describe("a deleted device uninstalls itself", () => {
  let cp: TestControlPlane;
  let root: string;

  beforeAll(async () => {
    cp = await startControlPlane({ env: { TETHER_HEARTBEAT_INTERVAL: "2s" } });
    root = await mkdtemp(join(tmpdir(), "tether-self-uninstall-"));
    await execa("cp", ["-a", "/etc", join(root, "etc")]);
    await execa(process.execPath, ["--import", "tsx", CLI, "install", "--root", root, "--no-start", "--connect-key", cp.connectKey], { cwd: REPO_ROOT });
    const configFile = join(root, "etc/tether-agent/agent.json");
    const config = JSON.parse(await readFile(configFile, "utf8"));
    await writeFile(configFile, JSON.stringify({ ...config, stateDir: join(root, "state") }));
    await writeFile(join(root, "systemctl"), `#!/bin/sh\necho "$*" >> '${join(root, "systemctl.log")}'\n`);
    await chmod(join(root, "systemctl"), 0o755);
  });
  afterAll(async () => {
    await cp.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  /** Runs `command` on the namespaced machine and resolves with its exit status and output. */
  function onMachine(command: string) {
    const script = [
      'mount --bind "$R/etc" /etc',
      'mount --bind "$R/usr/local/bin" /usr/local/bin',
      'mount --bind "$R/systemctl" /usr/bin/systemctl',
      `exec ${command}`,
    ].join(" && ");
        const child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], {
      env: { ...runnerEnv(), R: root, NODE: process.execPath, CLI },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    const exited = once(child, "exit").then(([code]) => code as number | null);
    return { child, exited, logs: () => output };
  }

  it("removes its unit and binary, keeps settings and logs, and does not come back as a new device", async () => {
    const agent = onMachine("/usr/local/bin/tether-agent run");
    const identityFile = join(root, "state/identity.json");
    const { deviceId } = await waitFor(async () => existsSync(identityFile) && (JSON.parse(await readFile(identityFile, "utf8")) as { deviceId: string }), {
      timeoutMs: 30_000,
      message: `enrollment; agent log:\n${agent.logs()}`,
    });
    await waitFor(async () => (await cp.api("GET", `/api/v1/devices/${deviceId}`)).body.status === "online", { timeoutMs: 30_000, message: "online" });

    expect((await cp.api("DELETE", `/api/v1/devices/${deviceId}`)).status).toBe(204);
    expect(await agent.exited, agent.logs()).toBe(ExitCode.DeviceRevoked);
    expect(agent.logs()).toContain("removed the tether-agent.service service");

    // systemd was told to forget the unit without stopping it (the agent was exiting by itself).
    expect((await readFile(join(root, "systemctl.log"), "utf8")).trim().split("\n")).toEqual(["disable tether-agent.service", "daemon-reload"]);
    expect(existsSync(join(root, "etc/systemd/system/tether-agent.service"))).toBe(false);
    expect(existsSync(join(root, "usr/local/bin/tether-agent"))).toBe(false);
    expect(existsSync(join(root, "etc/tether-agent/agent.json"))).toBe(true);
    expect(existsSync(identityFile)).toBe(false);
    expect(JSON.parse(await readFile(join(root, "state/deleted.json"), "utf8"))).toMatchObject({ deviceId });
    expect(JSON.parse(await readFile(join(root, "state/status.json"), "utf8"))).toMatchObject({ state: "stopped", detail: expect.stringMatching(/deleted/) });

    // Started again anyway, it does not enroll with the kept connect key.
    const devices = (await cp.api("GET", "/api/v1/devices")).body.totalCount;
    const again = onMachine('"$NODE" --import tsx "$CLI" run');
    expect(await again.exited, again.logs()).toBe(ExitCode.DeviceRevoked);
    expect(again.logs()).toMatch(/was deleted on the control plane.*tether-agent install.*to enroll it again/);
    expect((await cp.api("GET", "/api/v1/devices")).body.totalCount).toBe(devices);
  });
});
