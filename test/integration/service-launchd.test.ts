// The macOS LaunchDaemon: the plist parsed as a property list (plutil is not here), and the launchctl
// commands each operation runs, through a recording runner.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parsePlist } from "plist";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DarwinPlatform } from "../../agent/src/os/darwin/platform.js";
import { LaunchdService, parseLaunchctlPrint } from "../../agent/src/os/darwin/service.js";
import { renderLaunchdPlist } from "../../agent/src/os/darwin/service-plist.js";
import { recordingRunner } from "../helpers/recording-runner.js";

// The shape of `launchctl print system/LABEL` on macOS 13–14 (abridged: nested blocks left out).
const PRINT_RUNNING = `system/dev.tether.agent = {
\tactive count = 1
\tpath = /Library/LaunchDaemons/dev.tether.agent.plist
\ttype = LaunchDaemon
\tstate = running

\tprogram = /usr/local/bin/tether-agent
\targuments = {
\t\t/usr/local/bin/tether-agent
\t\trun
\t}

\tstdout path = /Library/Logs/Tether/tether-agent.log
\tstderr path = /Library/Logs/Tether/tether-agent.err.log
\tdefault environment = {
\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin
\t}

\tdomain = system
\tminimum runtime = 10
\texit timeout = 30
\truns = 3
\tpid = 812
\timmediate reason = inefficient
\tforks = 0
\texecs = 1
\tinitialized = 1
\ttrampolined = 1
\tstarted suspended = 0
\tproxy started suspended = 0
\tlast exit code = 1
}
`;
const NOT_LOADED = { exitCode: 113, stderr: 'Could not find service "dev.tether.agent" in domain for system' };

const layout = new DarwinPlatform({ run: recordingRunner().run }).installLayout();

describe("LaunchDaemon plist", () => {
  it("parses as a property list with the keys launchd needs", () => {
    const parsed = parsePlist(renderLaunchdPlist(layout)) as Record<string, unknown>;
    expect(parsed).toEqual({
      Label: "dev.tether.agent",
      ProgramArguments: ["/usr/local/bin/tether-agent", "run"],
      RunAtLoad: true,
      KeepAlive: true,
      ExitTimeOut: 30,
      ProcessType: "Standard",
      StandardOutPath: "/Library/Logs/Tether/tether-agent.log",
      StandardErrorPath: "/Library/Logs/Tether/tether-agent.err.log",
    });
  });

  it("escapes what XML would read as markup", () => {
    const parsed = parsePlist(renderLaunchdPlist({ ...layout, binary: "/Applications/R&D <Tools>/tether-agent" })) as { ProgramArguments: string[] };
    expect(parsed.ProgramArguments[0]).toBe("/Applications/R&D <Tools>/tether-agent");
  });

  it("puts config and state in /Library/Application Support/Tether", () => {
    expect(layout).toEqual({
      binary: "/usr/local/bin/tether-agent",
      configFile: "/Library/Application Support/Tether/agent.json",
      bootstrapFile: "/Library/Application Support/Tether/bootstrap.json",
      managedPreferencesFile: "/Library/Managed Preferences/dev.tether.agent.plist",
      stateDir: "/Library/Application Support/Tether",
      logDir: "/Library/Logs/Tether",
    });
  });
});

describe("launchctl, through the injected runner", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tether-launchd-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("reads launchctl print", () => {
    expect(parseLaunchctlPrint(PRINT_RUNNING)).toEqual({ registered: true, running: true, lastExitStatus: 1, detail: "running (pid 812), last exit code 1" });
    expect(parseLaunchctlPrint("system/dev.tether.agent = {\n\tstate = not running\n\tlast exit code = (never exited)\n}\n")).toEqual({
      registered: true,
      running: false,
      detail: "not running",
    });
  });

  it("bootstraps an unloaded daemon, and boots out a loaded one first so the plist is read again", async () => {
    const fresh = recordingRunner((_tool, args) => (args[0] === "print" ? NOT_LOADED : undefined));
    await new LaunchdService({ run: fresh.run, layout }).register();
    expect(fresh.calls).toEqual(["launchctl print system/dev.tether.agent", "launchctl bootstrap system /Library/LaunchDaemons/dev.tether.agent.plist"]);

    const loaded = recordingRunner((_tool, args) => (args[0] === "print" ? { stdout: PRINT_RUNNING } : undefined));
    const service = new LaunchdService({ run: loaded.run, layout });
    await service.register();
    await service.start();
    await service.stop();
    expect(loaded.calls).toEqual([
      "launchctl print system/dev.tether.agent",
      "launchctl bootout system/dev.tether.agent",
      "launchctl bootstrap system /Library/LaunchDaemons/dev.tether.agent.plist",
      "launchctl print system/dev.tether.agent",
      "launchctl kickstart -k system/dev.tether.agent",
      "launchctl print system/dev.tether.agent",
      "launchctl bootout system/dev.tether.agent",
    ]);
  });

  it("writes the plist and the log directory under a scratch root, where nothing needs loading", async () => {
    const runner = recordingRunner();
    const service = new LaunchdService({ run: runner.run, layout, root });
    await service.writeDefinition();
    await service.register();
    expect(runner.calls).toEqual([]);
    expect(parsePlist(await readFile(join(root, "Library/LaunchDaemons/dev.tether.agent.plist"), "utf8"))).toMatchObject({ Label: "dev.tether.agent" });
    expect(existsSync(join(root, "Library/Logs/Tether"))).toBe(true);
  });

  it("from inside its own daemon (device deleted): removes the plist, then boots itself out", async () => {
    const runner = recordingRunner();
    const service = new LaunchdService({ run: runner.run, layout, root });
    await service.writeDefinition();
    await service.unregisterFromInside();
    expect(existsSync(join(root, "Library/LaunchDaemons/dev.tether.agent.plist"))).toBe(false);
    expect(runner.calls).toEqual(["launchctl bootout system/dev.tether.agent"]);
  });
});
