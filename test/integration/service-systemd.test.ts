// The systemd service: the unit as `install` writes it, checked by systemd-analyze (any output fails),
// the systemctl commands each operation runs (a recording runner), and an install into a scratch root
// enabled by the real `systemctl --root`.
import { execFile } from "node:child_process";
import { existsSync, lstatSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_RESTART_EXIT_CODES } from "../../agent/src/exit-codes.js";
import { parseSystemctlShow, SystemdService } from "../../agent/src/os/linux/service.js";
import { renderSystemdUnit } from "../../agent/src/os/linux/service-unit.js";
import { LinuxPlatform } from "../../agent/src/os/linux/platform.js";
import { encodeConnectKey } from "../../shared/src/connect-key.js";
import { renderServiceFiles } from "../../scripts/service-files.js";
import { REPO_ROOT } from "../helpers/control-plane.js";
import { recordingRunner } from "../helpers/recording-runner.js";

const exec = promisify(execFile);
const CLI = join(REPO_ROOT, "agent/src/cli.ts");
const KEY = encodeConnectKey({ url: "https://tether.example.com:8443", caFingerprint: "ab".repeat(32), secret: "A".repeat(43) });

/** `tether-agent …` from this checkout, with its output; never throws on a non-zero status. */
async function agent(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO_ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

/** systemd-analyze verify prints warnings yet exits 0: any output at all is a failure here. */
async function verify(unitFile: string): Promise<string> {
  try {
    const { stdout, stderr } = await exec("systemd-analyze", ["verify", unitFile]);
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout: string; stderr: string; message: string };
    return e.stdout + e.stderr || e.message;
  }
}

describe("systemd unit", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-systemd-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("install --no-start writes binary, config (0600) and a unit that systemd-analyze accepts without a word", async () => {
    const root = join(dir, "root");
    const result = await agent(["install", "--root", root, "--no-start", "--connect-key", KEY, "--group", "laptops"]);
    expect(result.code, result.output).toBe(0);

    const layout = new LinuxPlatform().installLayout();
    const binary = join(root, layout.binary);
    expect((await exec(binary, ["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const config = join(root, layout.configFile);
    expect(lstatSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(config, "utf8"))).toEqual({ connectKey: KEY, groups: ["laptops"] });

    // The unit as installed, except that ExecStart points at the installed file inside the scratch root.
    const unit = await readFile(join(root, "etc/systemd/system/tether-agent.service"), "utf8");
    expect(unit).toContain(`ExecStart=${layout.binary} run\n`);
    const check = join(dir, "installed", "tether-agent.service");
    await mkdir(join(dir, "installed"));
    await writeFile(check, unit.replace(`ExecStart=${layout.binary} `, `ExecStart=${binary} `));
    expect(await verify(check)).toBe("");
  });

  it("quotes a binary path with spaces, % and $ so that systemd runs that very file", async () => {
    const odd = join(dir, "Tether Agent %i $HOME", "tether-agent");
    await mkdir(join(dir, "Tether Agent %i $HOME"));
    await writeFile(odd, "#!/bin/sh\n");
    await chmod(odd, 0o755);
    const unitFile = join(dir, "odd", "tether-agent.service");
    await mkdir(join(dir, "odd"));
    await writeFile(unitFile, renderSystemdUnit({ binary: odd }));
    expect(await verify(unitFile)).toBe("");
  });

  it("restarts always except on the statuses a restart cannot help, and gives the agent time to stop", () => {
    const unit = renderSystemdUnit({ binary: "/usr/local/bin/tether-agent" });
    const setting = (key: string) => unit.match(new RegExp(`^${key}=(.*)$`, "m"))?.[1];
    expect(setting("Restart")).toBe("always");
    expect(setting("RestartSec")).toBe("5");
    expect(setting("RestartPreventExitStatus")?.split(" ").map(Number)).toEqual([...NO_RESTART_EXIT_CODES]);
    expect(NO_RESTART_EXIT_CODES).toContain(10);
    expect(setting("KillMode")).toBe("mixed");
    expect(setting("TimeoutStopSec")).toBe("30");
    expect(setting("NoNewPrivileges")).toBe("no");
    expect(setting("MemoryDenyWriteExecute")).toBe("no");
    // What would stop the agent managing accounts, sshd and packages is not there.
    for (const key of ["ProtectSystem", "ProtectHome", "PrivateTmp", "ReadOnlyPaths", "User"]) expect(setting(key)).toBeUndefined();
    expect(setting("WantedBy")).toBe("multi-user.target");
  });

  it("the unit, plist and WinSW XML in installers/ are what the agent writes (npx tsx scripts/service-files.ts updates them)", async () => {
    for (const [path, content] of Object.entries(renderServiceFiles())) {
      expect(await readFile(join(REPO_ROOT, path), "utf8"), path).toBe(content);
    }
  });
});

describe("systemctl, through the injected runner", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-systemctl-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const SHOW_ENABLED_RUNNING = "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=4242\nExecMainStatus=0\n";
  const SHOW_FAILED = "LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\nMainPID=0\nExecMainStatus=3\n";
  const SHOW_NOT_FOUND = "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nMainPID=0\nExecMainStatus=0\n";

  const service = (show: string) => {
    const runner = recordingRunner((_tool, args) => (args[0] === "show" ? { stdout: show } : undefined));
    const layout = { ...new LinuxPlatform().installLayout(), binary: join(dir, "tether-agent") };
    return { runner, layout, service: new SystemdService({ run: runner.run, layout, unitDir: dir, systemctl: "/usr/bin/systemctl" }) };
  };

  it("reads systemctl show", () => {
    expect(parseSystemctlShow(SHOW_ENABLED_RUNNING)).toEqual({ registered: true, running: true, lastExitStatus: 0, detail: "active (running)" });
    expect(parseSystemctlShow(SHOW_FAILED)).toMatchObject({ running: false, lastExitStatus: 3, detail: "failed (failed), last exit status 3" });
    expect(parseSystemctlShow(SHOW_NOT_FOUND)).toEqual({ registered: false, running: false, detail: "not installed" });
  });

  it("registers with daemon-reload and enable, starts with restart, and unregisters with disable --now", async () => {
    const { runner, service: unit } = service(SHOW_ENABLED_RUNNING);
    await unit.writeDefinition();
    await unit.register();
    await unit.start();
    await unit.stop();
    await unit.unregister();
    await unit.removeDefinition();
    expect(runner.calls).toEqual([
      "systemctl daemon-reload",
      "systemctl enable tether-agent.service",
      "systemctl restart tether-agent.service",
      "systemctl stop tether-agent.service",
      "systemctl show tether-agent.service --property=LoadState,ActiveState,SubState,UnitFileState,MainPID,ExecMainStatus",
      "systemctl disable --now tether-agent.service",
      "systemctl daemon-reload",
    ]);
    expect(existsSync(join(dir, "tether-agent.service"))).toBe(false);
  });

  it("has nothing to unregister when the unit is unknown", async () => {
    const { runner, service: unit } = service(SHOW_NOT_FOUND);
    await unit.unregister();
    expect(runner.calls).toEqual([expect.stringMatching(/^systemctl show/)]);
  });

  it("from inside its own service (device deleted): disables and removes the unit without stopping itself", async () => {
    const { runner, service: unit } = service(SHOW_ENABLED_RUNNING);
    await unit.writeDefinition();
    await unit.unregisterFromInside();
    expect(runner.calls).toEqual(["systemctl disable tether-agent.service", "systemctl daemon-reload"]);
    expect(existsSync(join(dir, "tether-agent.service"))).toBe(false);
  });

  it("says what systemctl said when it fails", async () => {
    const runner = recordingRunner(() => ({ exitCode: 1, stderr: "Failed to enable unit: Access denied" }));
    const unit = new SystemdService({ run: runner.run, layout: new LinuxPlatform().installLayout(), unitDir: dir });
    await expect(unit.register()).rejects.toThrow(/daemon-reload exited with 1: Failed to enable unit: Access denied/);
  });
});

describe("a scratch root, enabled offline by the real systemctl --root", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tether-root-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("install --root enables the unit for that system's next boot; uninstall --root --purge leaves nothing", async () => {
    const installed = await agent(["install", "--root", root, "--connect-key", KEY]);
    expect(installed.code, installed.output).toBe(0);
    expect(installed.output).toMatch(/starts when that system boots/);
    const wants = join(root, "etc/systemd/system/multi-user.target.wants/tether-agent.service");
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);

    const removed = await agent(["uninstall", "--root", root, "--purge"]);
    expect(removed.code, removed.output).toBe(0);
    for (const path of [wants, "etc/systemd/system/tether-agent.service", "usr/local/bin/tether-agent", "etc/tether-agent", "var/lib/tether-agent"]) {
      expect(existsSync(path.startsWith("/") ? path : join(root, path)), path).toBe(false);
    }
  });

  it("refuses to install without a connect key, or with one that is not one", async () => {
    const none = await agent(["install", "--root", join(root, "none"), "--no-start"]);
    expect(none.code).toBe(2);
    expect(none.output).toMatch(/a connect key is needed: give --connect-key \(or CONNECT_KEY in \/etc\/default\/tether-agent\)/);
    const bad = await agent(["install", "--root", join(root, "bad"), "--no-start", "--connect-key", "tck_nope"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toMatch(/the connect key is not valid/);
  });
});
