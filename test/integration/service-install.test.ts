// `tether-agent install` and `uninstall` as the service logic runs them, against a fake service manager
// whose "agent" writes status.json the way the real one does: settings from flags, /etc/default and the
// existing agent.json; waiting for "connected" or saying why not; image mode; uninstall and --purge.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExitCode } from "../../agent/src/exit-codes.js";
import { IdentityStore } from "../../agent/src/identity/store.js";
import { LinuxPlatform } from "../../agent/src/os/linux/platform.js";
import type { InstallLayout, ServiceManager, ServiceState } from "../../agent/src/os/types.js";
import { ConfigError, parseDefaults, readConfig } from "../../agent/src/service/config.js";
import { markDeleted, readDeletedMarker } from "../../agent/src/service/device-state.js";
import { install, uninstall, type InstallOptions } from "../../agent/src/service/install.js";
import { writeStatus, type AgentStatus } from "../../agent/src/status.js";
import { encodeConnectKey } from "../../shared/src/connect-key.js";

const KEY = encodeConnectKey({ url: "https://tether.example.com:8443", caFingerprint: "ab".repeat(32), secret: "A".repeat(43) });
const OTHER_KEY = encodeConnectKey({ url: "https://other.example.com", caFingerprint: null, secret: "B".repeat(43) });
const SCRIPT = { kind: "script", content: "#!/bin/sh\necho agent\n" } as const;
const DEAD_PID = 2 ** 22 + 12345;

/** A service manager whose start() plays the agent: it writes what `agent` returns to status.json. */
class FakeService implements ServiceManager {
  readonly serviceName = "tether-agent.service";
  readonly logs = "journalctl -u tether-agent.service";
  readonly definitionFiles: readonly string[];
  calls: string[] = [];
  agent: (() => Omit<AgentStatus, "since" | "agentVersion"> | undefined) | undefined;
  stateAfterStart: ServiceState = { registered: true, running: true, detail: "active (running)" };

  constructor(private readonly dir: string, private readonly stateDir: string) {
    this.definitionFiles = [join(dir, "tether-agent.service")];
  }
  async writeDefinition() {
    this.calls.push("writeDefinition");
    await writeFile(this.definitionFiles[0]!, "[Unit]\n");
  }
  async removeDefinition() {
    this.calls.push("removeDefinition");
    await rm(this.definitionFiles[0]!, { force: true });
  }
  async register() {
    this.calls.push("register");
  }
  async unregister() {
    this.calls.push("unregister");
  }
  async start() {
    this.calls.push("start");
    const status = this.agent?.();
    if (status) await writeStatus(this.stateDir, { ...status, since: new Date().toISOString(), agentVersion: "test" });
  }
  async stop() {
    this.calls.push("stop");
  }
  async state() {
    return this.stateAfterStart;
  }
  async unregisterFromInside() {
    this.calls.push("unregisterFromInside");
  }
}

describe("install and uninstall", () => {
  let dir: string;
  let layout: InstallLayout;
  let service: FakeService;
  let platform: LinuxPlatform;
  const output: string[] = [];
  const print = (line: string) => output.push(line);
  const target = () => ({ platform, layout, service });
  const options = (over: Partial<InstallOptions> = {}): InstallOptions => ({ image: false, start: true, timeoutMs: 2000, ...over });
  const config = async () => JSON.parse(await readFile(layout.configFile, "utf8"));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-install-"));
    layout = {
      binary: join(dir, "bin/tether-agent"),
      configFile: join(dir, "etc/tether-agent/agent.json"),
      defaultsFile: join(dir, "etc/default/tether-agent"),
      stateDir: join(dir, "state"),
    };
    await writeFile(join(dir, "machine-id"), "5".repeat(32) + "\n");
    platform = new LinuxPlatform({ paths: { machineIdFiles: [join(dir, "machine-id")], productSerialFile: join(dir, "none") } });
    service = new FakeService(dir, layout.stateDir);
    output.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("puts binary, config and service in place, starts it and waits until the agent is connected", async () => {
    service.agent = () => ({ state: "connected", detail: null, pid: process.pid });
    const code = await install(target(), options({ connectKey: KEY, displayName: "web-1", groups: ["servers"] }), SCRIPT, print);
    expect(code, output.join("\n")).toBe(ExitCode.Ok);
    expect(service.calls).toEqual(["writeDefinition", "register", "start"]);
    expect(await readFile(layout.binary, "utf8")).toBe(SCRIPT.content);
    expect(await config()).toEqual({ connectKey: KEY, displayName: "web-1", groups: ["servers"] });
    expect(output.at(-1)).toMatch(/^Connected/);
  });

  it("says why the agent did not connect: its last words and its exit status", async () => {
    service.agent = () => ({ state: "stopped", detail: "enrollment refused: the connect key was revoked (connect_key_revoked)", pid: DEAD_PID });
    service.stateAfterStart = { registered: true, running: false, lastExitStatus: ExitCode.EnrollmentRefused, detail: "failed (failed)" };
    const code = await install(target(), options({ connectKey: KEY }), SCRIPT, print);
    expect(code).toBe(ExitCode.EnrollmentRefused);
    expect(output.at(-1)).toBe("The agent stopped with status 3: enrollment refused: the connect key was revoked (connect_key_revoked).");
  });

  it("gives up waiting after the timeout, naming the agent's last state and where its logs are; an earlier run's status does not count", async () => {
    await mkdir(layout.stateDir, { recursive: true });
    await writeStatus(layout.stateDir, { state: "connected", since: new Date(Date.now() - 60_000).toISOString(), detail: null, pid: process.pid, agentVersion: "old" });
    service.agent = () => undefined;
    const code = await install(target(), options({ connectKey: KEY, timeoutMs: 300 }), SCRIPT, print);
    expect(code).toBe(ExitCode.Failure);
    expect(output.at(-1)).toMatch(/has not connected within 0 s \(its last word: nothing yet\).*journalctl -u tether-agent\.service/);
  });

  it("--no-start writes the files only", async () => {
    expect(await install(target(), options({ connectKey: KEY, start: false }), SCRIPT, print)).toBe(ExitCode.Ok);
    expect(service.calls).toEqual(["writeDefinition"]);
  });

  it("takes settings from /etc/default/tether-agent, flags first; a re-run keeps what it is not told", async () => {
    await mkdir(join(dir, "etc/default"), { recursive: true });
    await writeFile(layout.defaultsFile!, `# written by the admin\nCONNECT_KEY="${KEY}"\nDISPLAY_NAME='front desk'\nGROUPS=laptops, berlin office\n`);
    await install(target(), options({ start: false }), SCRIPT, print);
    expect(await config()).toEqual({ connectKey: KEY, displayName: "front desk", groups: ["laptops", "berlin office"] });

    await install(target(), options({ start: false, connectKey: OTHER_KEY, serverUrl: "https://tether.internal:8443" }), SCRIPT, print);
    expect(await config()).toMatchObject({ connectKey: OTHER_KEY, displayName: "front desk", serverUrl: "https://tether.internal:8443" });

    await rm(layout.defaultsFile!);
    await install(target(), options({ start: false }), SCRIPT, print);
    expect((await config()).connectKey).toBe(OTHER_KEY);
  });

  it("--image records this machine as the image's source; installing again without it ends image mode", async () => {
    service.agent = () => ({ state: "waiting", detail: "image mode: this is the machine the image is made on", pid: process.pid });
    expect(await install(target(), options({ connectKey: KEY, image: true }), SCRIPT, print)).toBe(ExitCode.Ok);
    expect((await config()).image).toEqual({ sourceMachine: { machineId: "5".repeat(32) }, preparedAt: expect.any(String) });
    expect(output.at(-1)).toBe("Not enrolling here: image mode: this is the machine the image is made on.");

    await install(target(), options({ start: false }), SCRIPT, print);
    expect((await config()).image).toBeUndefined();
  });

  it("--image refuses an enrolled machine, and a machine that nothing tells apart from its copies", async () => {
    await new IdentityStore(layout.stateDir, platform).save({
      deviceId: "dev_0000000000enrolled",
      serverUrl: "https://tether.example.com:8443",
      caFingerprint: null,
      enrolledAt: "2026-01-01T00:00:00.000Z",
      certificateReceivedAt: "2026-01-01T00:00:00.000Z",
      certificateExpiresAt: "2027-01-01T00:00:00.000Z",
      keyPem: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n",
      certificatePem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
      caPem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
    });
    await expect(install(target(), options({ connectKey: KEY, image: true }), SCRIPT, print)).rejects.toThrow(/enrolled \(device dev_0000000000enrolled\).*reset-identity --image/);

    await rm(layout.stateDir, { recursive: true });
    await rm(join(dir, "machine-id"));
    await expect(install(target(), options({ connectKey: KEY, image: true }), SCRIPT, print)).rejects.toThrow(/no machine id and no hardware serial/);
  });

  it("refuses a source checkout as a Windows service", async () => {
    const windows = { ...target(), platform: { ...platform, name: "windows" as const, machineFingerprint: () => platform.machineFingerprint(), restrictFile: async () => undefined, readProvisioning: () => platform.readProvisioning(layout) } };
    await expect(install(windows as never, options({ connectKey: KEY }), SCRIPT, print)).rejects.toThrow(/cannot be a Windows service/);
  });

  it("uninstall removes service and binary and keeps settings and state; --purge removes those too", async () => {
    service.agent = () => ({ state: "connected", detail: null, pid: process.pid });
    await install(target(), options({ connectKey: KEY }), SCRIPT, print);
    service.calls = [];
    await uninstall(target(), false, print);
    expect(service.calls).toEqual(["unregister", "removeDefinition"]);
    expect(existsSync(layout.binary)).toBe(false);
    expect(existsSync(layout.configFile)).toBe(true);
    expect(existsSync(layout.stateDir)).toBe(true);

    await uninstall(target(), true, print);
    expect(existsSync(layout.configFile)).toBe(false);
    expect(existsSync(join(dir, "etc/tether-agent"))).toBe(false);
    expect(existsSync(layout.stateDir)).toBe(false);
  });
});

describe("install --packaged (deb, rpm, MSI)", () => {
  let dir: string;
  let layout: InstallLayout;
  let service: FakeService;
  let platform: LinuxPlatform;
  const output: string[] = [];
  const print = (line: string) => output.push(line);
  const target = () => ({ platform, layout, service });
  const options = (over: Partial<InstallOptions> = {}): InstallOptions => ({ image: false, start: true, timeoutMs: 2000, ...over });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-packaged-"));
    layout = {
      binary: join(dir, "usr/bin/tether-agent"),
      configFile: join(dir, "etc/tether-agent/agent.json"),
      defaultsFile: join(dir, "etc/default/tether-agent"),
      stateDir: join(dir, "state"),
      packageMarker: join(dir, "usr/lib/tether-agent/packaged"),
      packaged: true,
    };
    platform = new LinuxPlatform();
    service = new FakeService(dir, layout.stateDir);
    // What the package installed: its binary, its unit and the marker.
    await mkdir(join(dir, "usr/bin"), { recursive: true });
    await writeFile(layout.binary, "the package's binary");
    await service.writeDefinition();
    await mkdir(join(dir, "usr/lib/tether-agent"), { recursive: true });
    await writeFile(layout.packageMarker!, "deb\n");
    service.calls = [];
    output.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("configures and starts the package's service, leaving its binary and unit alone", async () => {
    service.agent = () => ({ state: "connected", detail: null, pid: process.pid });
    await mkdir(join(dir, "etc/default"), { recursive: true });
    await writeFile(layout.defaultsFile!, `CONNECT_KEY=${KEY}\n`);
    expect(await install(target(), options(), SCRIPT, print)).toBe(ExitCode.Ok);
    expect(service.calls).toEqual(["register", "start"]);
    expect(await readFile(layout.binary, "utf8")).toBe("the package's binary");
    expect(JSON.parse(await readFile(layout.configFile, "utf8"))).toEqual({ connectKey: KEY });
  });

  it("without a connect key, succeeds and leaves the service off", async () => {
    expect(await install(target(), options(), SCRIPT, print)).toBe(ExitCode.Ok);
    expect(service.calls).toEqual([]);
    expect(existsSync(layout.configFile)).toBe(false);
    expect(output.at(-1)).toMatch(/^No connect key yet: the service stays off.*CONNECT_KEY in .*etc\/default\/tether-agent/);
  });

  it("refuses when the package's files are missing", async () => {
    await rm(service.definitionFiles[0]!);
    await expect(install(target(), options({ connectKey: KEY }), SCRIPT, print)).rejects.toThrow(/the package's .*tether-agent\.service is missing: reinstall the package/);
  });

  it("a package upgrade does not bring back a device an admin deleted; an explicit key does", async () => {
    await install(target(), options({ connectKey: KEY, start: false }), SCRIPT, print);
    await markDeleted(layout.stateDir, { deviceId: "dev_0000000000deleted", deletedAt: "2026-11-01T00:00:00.000Z" });
    service.calls = [];
    expect(await install(target(), options(), SCRIPT, print)).toBe(ExitCode.Ok);
    expect(service.calls).toEqual([]);
    expect(output.at(-1)).toMatch(/deleted this device \(dev_0000000000deleted\).*stays off/);

    service.agent = () => ({ state: "connected", detail: null, pid: process.pid });
    expect(await install(target(), options({ connectKey: KEY }), SCRIPT, print)).toBe(ExitCode.Ok);
    expect(service.calls).toEqual(["register", "start"]);
    expect(await readDeletedMarker(layout.stateDir)).toBeUndefined();
  });

  it("uninstall leaves a package's installation to its package manager", async () => {
    await expect(uninstall(target(), true, print)).rejects.toThrow(/a deb package installed this agent: remove it with "apt remove tether-agent"/);
    expect(service.calls).toEqual([]);
    expect(existsSync(layout.binary)).toBe(true);
  });
});

describe("agent.json and /etc/default/tether-agent", () => {
  it("reads KEY=VALUE as a shell would, keeping only what the agent uses", () => {
    expect(
      parseDefaults(
        [
          "# comment",
          "",
          "export CONNECT_KEY=tck_abc # trailing comment",
          'DISPLAY_NAME="Ana \\"laptop\\""',
          "GROUPS=' a , b ,,'",
          "SERVER_URL=https://tether.internal",
          "OTHER=ignored",
          "not a line",
        ].join("\r\n"),
      ),
    ).toEqual({ connectKey: "tck_abc", displayName: 'Ana "laptop"', groups: ["a", "b"], serverUrl: "https://tether.internal" });
    expect(parseDefaults("CONNECT_KEY=\n")).toEqual({});
  });

  it("names the file and the field when agent.json is wrong", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tether-config-"));
    const file = join(dir, "agent.json");
    expect(await readConfig(file)).toBeUndefined();
    await writeFile(file, JSON.stringify({ conectKey: "tck_x" }));
    await expect(readConfig(file)).rejects.toThrow(new ConfigError(`${file}: (top level): Unrecognized key: "conectKey"`));
    await writeFile(file, "{");
    await expect(readConfig(file)).rejects.toThrow(/agent\.json is not valid JSON/);
    await rm(dir, { recursive: true });
  });
});
