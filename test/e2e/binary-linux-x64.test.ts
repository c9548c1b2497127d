import { copyFile, readFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256File } from "../../scripts/build/agent-binary.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/wait.js";
import { BUILD_TIMEOUT_MS, DIST, ensureBinaries, PACKAGE_VERSION, startBinary, tempDir, type BinaryProcess } from "../packaging/binaries.js";

// The real linux-x64 binary (`npm run build:agent -- --target linux-x64`), copied alone into an empty
// directory so that nothing of the checkout can help it, enrolls with a real control plane.
describe("native agent binary: linux-x64", () => {
  let built: string;
  let binary: string;
  let cp: TestControlPlane;
  let root: string;
  const agents: BinaryProcess[] = [];

  beforeAll(async () => {
    built = (await ensureBinaries(["linux-x64"]))["linux-x64"]!;
    const dir = await tempDir();
    binary = join(dir, "tether-agent");
    await copyFile(built, binary);
    await execa("chmod", ["755", binary]);
    cp = await startControlPlane({ env: { TETHER_HEARTBEAT_INTERVAL: "2s" } });
    root = await tempDir("tether-install-root-");
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await cp?.cleanup();
  });

  it("prints the version from package.json, and SHA256SUMS lists it", async () => {
    const { stdout } = await execa(binary, ["--version"], { cwd: await tempDir() });
    expect(stdout.trim()).toBe(PACKAGE_VERSION);
    const sums = await readFile(join(DIST, "SHA256SUMS"), "utf8");
    expect(sums).toContain(`${await sha256File(built)}  tether-agent-linux-x64\n`);
    // Stripped: well under the 119 MiB of Node's own binary.
    expect((await stat(built)).size).toBeLessThan(112 * 2 ** 20);
  });

  it("logs JSON even on a terminal: no pino-pretty worker inside a single executable", async () => {
    const state = await tempDir();
    // `script` gives the binary a pseudo-terminal for stdout, where the source agent would pretty-print.
    const result = await execa("script", ["-qec", `'${binary}' run --connect-key not-a-key --state-dir '${state}'`, "/dev/null"], { reject: false, stdin: "ignore" });
    const lines = result.stdout.split(/\r?\n/).filter((l) => l.trim());
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(result.stdout).toContain("the connect key is not valid");
    expect(result.stdout).not.toMatch(/worker|Cannot find module/i);
  });

  it("enrolls with a connect key, comes online with its inventory and runs a command", async () => {
    const state = await tempDir();
    const agent = startBinary(binary, ["run", "--state-dir", state, "--connect-key", cp.connectKey], { env: { TETHER_LOG_LEVEL: "debug" } });
    agents.push(agent);

    const device = await waitFor(async () => {
      if (!existsSync(join(state, "identity.json"))) return false;
      const { deviceId } = JSON.parse(await readFile(join(state, "identity.json"), "utf8")) as { deviceId: string };
      const found = (await cp.api("GET", `/api/v1/devices/${deviceId}`)).body;
      return found.status === "online" && found.inventory ? found : false;
    }, { timeoutMs: 30_000, message: `the binary's device online with inventory; its log:\n${agent.logs()}` });

    expect(device.agentVersion).toBe(PACKAGE_VERSION);
    expect(device.os).toBe("linux");
    expect(device.inventory.hostname).toBe(device.hostname);
    expect(device.inventory.memory.totalBytes).toBeGreaterThan(0);

    const status = await execa(binary, ["status", "--json", "--state-dir", state]);
    expect(JSON.parse(status.stdout)).toMatchObject({ enrolled: true, deviceId: device.id, state: "connected" });

    // It runs a command: the executor and its process handling work inside the single executable.
    const created = await cp.api("POST", "/api/v1/command-runs", { script: 'echo "hello $GREETING"; exit 3', env: { GREETING: "binary" }, os: "linux", targets: { devices: [device.id] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const execution = created.body.executions[0].id as string;
    const result = await waitFor(async () => {
      const r = (await cp.api("GET", `/api/v1/command-results/${execution}`)).body;
      return ["succeeded", "failed", "timed_out", "error"].includes(r.status) ? r : false;
    }, { timeoutMs: 30_000, message: `the command's result; agent log:\n${agent.logs()}` });
    expect(result).toMatchObject({ status: "failed", exitCode: 3, stdout: "hello binary\n" });

    const exit = await agent.stop();
    expect(exit.code).toBe(0);
    expect(agent.logs()).not.toMatch(/ExperimentalWarning|single-executable/i);
  }, 120_000);

  it("installs with the control plane's one-liner (real curl and sh) into a scratch root, and the installed agent enrolls", async () => {
    // The control plane serves this build from its downloads directory, as `npm start` serves dist/.
    const downloads = await tempDir();
    await execa("mkdir", ["-p", join(downloads, "agent")]);
    await copyFile(built, join(downloads, "agent/tether-agent-linux-x64"));
    const server = await startControlPlane({ env: { TETHER_DOWNLOADS_DIR: downloads } });
    try {
      const commands = (await server.api("GET", "/api/v1/install-commands")).body as { linux: string };
      expect(commands.linux).toMatch(/--pinnedpubkey 'sha256\/\/[A-Za-z0-9+/=]+'/);
      // The tests run as root, and CI machines need not have sudo: the one-liner without it.
      const oneLiner = `${commands.linux.replace("sudo ", "").replace("CONNECT_KEY", server.connectKey)} --display-name 'front desk' --root '${root}' --no-start`;
      const result = await execa("bash", ["-o", "pipefail", "-c", oneLiner], { reject: false, all: true, stdin: "ignore" });
      expect(result.exitCode, result.all).toBe(0);

      const installed = join(root, "usr/local/bin/tether-agent");
      expect(await sha256File(installed)).toBe(await sha256File(built));
      const config = join(root, "etc/tether-agent/agent.json");
      expect(JSON.parse(await readFile(config, "utf8"))).toEqual({ connectKey: server.connectKey, displayName: "front desk" });
      expect((await stat(config)).mode & 0o777).toBe(0o600);
      expect(existsSync(join(root, "etc/systemd/system/tether-agent.service"))).toBe(true);

      const state = await tempDir();
      const agent = startBinary(installed, ["run", "--config", config, "--state-dir", state]);
      agents.push(agent);
      const device = await waitFor(async () => {
        const page = (await server.api("GET", "/api/v1/devices?filter=status:eq:online")).body as { results: { displayName: string }[] };
        return page.results.find((d) => d.displayName === "front desk") ?? false;
      }, { timeoutMs: 30_000, message: `the installed agent online; its log:\n${agent.logs()}` });
      expect(device).toMatchObject({ displayName: "front desk" });
    } finally {
      await server.cleanup();
    }
  }, 120_000);
});
