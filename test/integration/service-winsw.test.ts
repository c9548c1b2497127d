// The Windows service through WinSW 1.17: the XML WinSW reads, the wrapper files copied beside the agent,
// and the wrapper commands each operation runs, through a recording runner.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WindowsPlatform } from "../../agent/src/os/windows/platform.js";
import { WinswService } from "../../agent/src/os/windows/service.js";
import { renderWinswXml, WINSW_EXE_CONFIG } from "../../agent/src/os/windows/service-xml.js";
import { REPO_ROOT } from "../helpers/control-plane.js";
import { recordingRunner } from "../helpers/recording-runner.js";

// The wrapper comes from the node-windows dev dependency (bin/winsw/winsw.exe, WinSW 1.17).
const WINSW_EXE = readFileSync(join(REPO_ROOT, "node_modules/node-windows/bin/winsw/winsw.exe"));
const ENV = { ProgramFiles: "C:\\Program Files", PROGRAMDATA: "C:\\ProgramData", SystemRoot: "C:\\Windows" };
const layout = new WindowsPlatform({ run: recordingRunner().run, env: ENV }).installLayout();

describe("WinSW configuration", () => {
  const document = new DOMParser().parseFromString(renderWinswXml(layout), "text/xml");
  const service = document.documentElement!;
  const text = (name: string) => service.getElementsByTagName(name)[0]?.textContent;

  it("is the document's first node, as WinSW 1.x reads stoptimeout and resetfailure from there", () => {
    expect(document.firstChild?.nodeName).toBe("service");
  });

  it("runs the agent's run command as an automatic service that restarts after failures", () => {
    expect(text("id")).toBe("tether-agent");
    expect(text("name")).toBe("Tether agent");
    expect(text("description")).toBeTruthy();
    expect(text("executable")).toBe("C:\\Program Files\\Tether\\tether-agent.exe");
    expect([...service.getElementsByTagName("argument")].map((a) => a.textContent)).toEqual(["run"]);
    expect(text("startmode")).toBe("Automatic");
    const failures = [...service.getElementsByTagName("onfailure")] as Element[];
    expect(failures.map((f) => [f.getAttribute("action"), f.getAttribute("delay")])).toEqual([
      ["restart", "10 sec"],
      ["restart", "1 min"],
      ["restart", "5 min"],
    ]);
    expect(text("resetfailure")).toBe("1 hour");
  });

  it("lets the agent stop first and gives it 30 s, and rolls its logs by size", () => {
    expect(text("stoptimeout")).toBe("30 sec");
    expect(text("stopparentprocessfirst")).toBe("true");
    expect(text("logpath")).toBe("C:\\ProgramData\\Tether\\logs");
    const log = service.getElementsByTagName("log")[0]!;
    expect(log.getAttribute("mode")).toBe("roll-by-size");
    expect(Number(text("sizeThreshold"))).toBeGreaterThan(0);
    expect(Number(text("keepFiles"))).toBeGreaterThan(0);
  });

  it("lays the agent out in Program Files and ProgramData", () => {
    expect(layout).toEqual({
      binary: "C:\\Program Files\\Tether\\tether-agent.exe",
      configFile: "C:\\ProgramData\\Tether\\agent.json",
      registryKey: "HKLM\\SOFTWARE\\Tether\\Agent",
      packageMarker: "C:\\Program Files\\Tether\\packaged",
      stateDir: "C:\\ProgramData\\Tether",
      logDir: "C:\\ProgramData\\Tether\\logs",
    });
  });
});

describe("WinSW commands, through the injected runner", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tether-winsw-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A wrapper whose `status` answers come from `statuses`, in order (the last one repeats). */
  const wrapper = (statuses: string[], opts: { root?: string } = {}) => {
    let i = 0;
    const runner = recordingRunner((_tool, args) => (args[0] === "status" ? { stdout: `${statuses[Math.min(i++, statuses.length - 1)]}\r\n` } : undefined));
    const service = new WinswService({ run: runner.run, layout, root: opts.root, wrapper: async () => WINSW_EXE, sleep: async () => undefined });
    return { runner, service };
  };

  it("copies the wrapper, its .NET 4 config and the XML beside the agent", async () => {
    const { service } = wrapper(["NonExistent"], { root });
    await service.writeDefinition();
    const dir = join(root, "Program Files/Tether");
    expect((await readFile(join(dir, "tether-agent-service.exe"))).equals(WINSW_EXE)).toBe(true);
    expect(await readFile(join(dir, "tether-agent-service.exe.config"), "utf8")).toBe(WINSW_EXE_CONFIG);
    expect(await readFile(join(dir, "tether-agent-service.xml"), "utf8")).toBe(renderWinswXml(layout));
    expect(service.definitionFiles).toEqual([
      "C:\\Program Files\\Tether\\tether-agent-service.exe",
      "C:\\Program Files\\Tether\\tether-agent-service.exe.config",
      "C:\\Program Files\\Tether\\tether-agent-service.xml",
    ]);
  });

  it("installs once, then starts, or restarts when it runs", async () => {
    const fresh = wrapper(["NonExistent", "Stopped"]);
    await fresh.service.register();
    await fresh.service.start();
    expect(fresh.runner.calls).toEqual([
      "tether-agent-service.exe status",
      "tether-agent-service.exe install",
      "tether-agent-service.exe status",
      "tether-agent-service.exe start",
    ]);
    const upgrade = wrapper(["Started"]);
    await upgrade.service.register();
    await upgrade.service.start();
    expect(upgrade.runner.calls).toEqual(["tether-agent-service.exe status", "tether-agent-service.exe status", "tether-agent-service.exe restart"]);
  });

  it("stops, waits until stopped, and uninstalls", async () => {
    const { runner, service } = wrapper(["Started", "Started", "Started", "Stopped"]);
    await service.unregister();
    expect(runner.calls).toEqual([
      "tether-agent-service.exe status",
      "tether-agent-service.exe status",
      "tether-agent-service.exe stop",
      "tether-agent-service.exe status",
      "tether-agent-service.exe status",
      "tether-agent-service.exe uninstall",
    ]);
  });

  it("from inside its own service (device deleted): only marks it for deletion", async () => {
    const { runner, service } = wrapper(["Started"]);
    await service.unregisterFromInside();
    expect(runner.calls).toEqual(["tether-agent-service.exe uninstall"]);
  });

  it("reports a stop that does not finish", async () => {
    const runner = recordingRunner((_tool, args) => (args[0] === "status" ? { stdout: "Started" } : undefined));
    const service = new WinswService({ run: runner.run, layout, wrapper: async () => WINSW_EXE, stopWaitMs: 0, sleep: async () => undefined });
    await expect(service.stop()).rejects.toThrow(/did not stop in time/);
  });
});
