// Settings that packages and MDMs leave for `install`, per OS: /etc/default/tether-agent (deb, rpm),
// bootstrap.json and a configuration profile (macOS .pkg), the MSI's registry values (Windows). The
// macOS and Windows tools (plutil, reg.exe) are answered by a recording runner with their real formats.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build as buildPlist } from "plist";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DarwinPlatform } from "../../agent/src/os/darwin/platform.js";
import { LinuxPlatform } from "../../agent/src/os/linux/platform.js";
import { WindowsPlatform } from "../../agent/src/os/windows/platform.js";
import { ConfigError } from "../../agent/src/service/config.js";
import { parseBootstrap, parseManagedPreferences } from "../../agent/src/service/provisioning.js";
import { recordingRunner } from "../helpers/recording-runner.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "tether-provisioning-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe("Linux: /etc/default/tether-agent", () => {
  it("is read under the install root; absent, nothing is provisioned", async () => {
    const platform = new LinuxPlatform();
    const layout = platform.installLayout({ packaged: true });
    expect(await platform.readProvisioning(layout, root)).toMatchObject({ settings: {}, where: "CONNECT_KEY in /etc/default/tether-agent" });
    await mkdir(join(root, "etc/default"), { recursive: true });
    await writeFile(join(root, "etc/default/tether-agent"), "CONNECT_KEY=tck_abc\nGROUPS=a,b\n");
    expect((await platform.readProvisioning(layout, root)).settings).toEqual({ connectKey: "tck_abc", groups: ["a", "b"] });
  });

  it("packages put the binary in /usr/bin and the unit in /usr/lib/systemd/system", () => {
    const platform = new LinuxPlatform();
    const packaged = platform.installLayout({ packaged: true });
    expect(packaged).toMatchObject({ binary: "/usr/bin/tether-agent", packaged: true, packageMarker: "/usr/lib/tether-agent/packaged" });
    expect(platform.serviceManager(packaged).definitionFiles).toEqual(["/usr/lib/systemd/system/tether-agent.service"]);
    expect(platform.serviceManager(platform.installLayout()).definitionFiles).toEqual(["/etc/systemd/system/tether-agent.service"]);
  });
});

describe("macOS: bootstrap.json and the configuration profile", () => {
  const support = () => join(root, "Library/Application Support/Tether");
  const profile = () => join(root, "Library/Managed Preferences/dev.tether.agent.plist");

  it("reads bootstrap.json; the profile's values win over it", async () => {
    const xml = buildPlist({ ConnectKey: "tck_fromprofile", Groups: ["macs"], PayloadUUID: "ignored" });
    const runner = recordingRunner((tool) => (tool === "plutil" ? { stdout: xml } : undefined));
    const platform = new DarwinPlatform({ run: runner.run });
    const layout = platform.installLayout();

    await mkdir(support(), { recursive: true });
    await writeFile(join(support(), "bootstrap.json"), JSON.stringify({ connectKey: "tck_frombootstrap", displayName: "Ana's Mac" }));
    expect((await platform.readProvisioning(layout, root)).settings).toEqual({ connectKey: "tck_frombootstrap", displayName: "Ana's Mac" });
    expect(runner.calls).toEqual([]);

    await mkdir(join(root, "Library/Managed Preferences"), { recursive: true });
    await writeFile(profile(), "bplist00 (binary, as an MDM writes it)");
    expect((await platform.readProvisioning(layout, root)).settings).toEqual({ connectKey: "tck_fromprofile", displayName: "Ana's Mac", groups: ["macs"] });
    expect(runner.calls).toEqual([`plutil -convert xml1 -o - ${profile()}`]);
  });

  it("names the file and the field when bootstrap.json or the profile is wrong", async () => {
    expect(() => parseBootstrap('{"connectkey":"tck_x"}', "/b.json")).toThrow(new ConfigError('/b.json: (top level): Unrecognized key: "connectkey"'));
    expect(() => parseBootstrap("{", "/b.json")).toThrow(/\/b\.json is not valid JSON/);
    expect(() => parseBootstrap('{"groups":"one"}', "/b.json")).toThrow(/\/b\.json: groups: /);
    expect(() => parseManagedPreferences(buildPlist({ Groups: "macs" }), "/p.plist")).toThrow(/\/p\.plist: Groups: /);
    expect(() => parseManagedPreferences("not xml", "/p.plist")).toThrow(/\/p\.plist is not a property list/);
  });

  it("an unreadable profile is an error naming plutil's complaint", async () => {
    const runner = recordingRunner((tool) => (tool === "plutil" ? { exitCode: 1, stderr: "Property List error: Unexpected character" } : undefined));
    const platform = new DarwinPlatform({ run: runner.run });
    await mkdir(join(root, "Library/Managed Preferences"), { recursive: true });
    await writeFile(profile(), "junk");
    await expect(platform.readProvisioning(platform.installLayout(), root)).rejects.toThrow(/plutil exited with 1: Property List error/);
  });

  it("has no packaged layout: the .pkg runs a plain install", () => {
    expect(() => new DarwinPlatform({ run: recordingRunner().run }).installLayout({ packaged: true })).toThrow(/plain install/);
  });
});

describe("Windows: the MSI's registry values", () => {
  const ENV = { ProgramFiles: "C:\\Program Files", PROGRAMDATA: "C:\\ProgramData", SystemRoot: "C:\\Windows" };
  // reg.exe's format: the key, then four spaces, name, four spaces, type, four spaces, data; CRLF.
  const regOutput = [
    "",
    "HKEY_LOCAL_MACHINE\\SOFTWARE\\Tether\\Agent",
    "    ConnectKey    REG_SZ    tck_fromthemsi",
    "    DisplayName    REG_SZ    Front desk PC",
    "    Groups    REG_SZ    windows, berlin office",
    "    ServerUrl    REG_SZ",
    "",
  ].join("\r\n");

  it("reads the values and, once agent.json has them, deletes the connect key that every user could read", async () => {
    const runner = recordingRunner((tool, args) => (tool === "reg.exe" && args[0] === "query" ? { stdout: regOutput } : undefined));
    const platform = new WindowsPlatform({ run: runner.run, env: ENV });
    const provisioning = await platform.readProvisioning(platform.installLayout({ packaged: true }));
    expect(provisioning.settings).toEqual({ connectKey: "tck_fromthemsi", displayName: "Front desk PC", groups: ["windows", "berlin office"] });
    expect(runner.calls).toEqual(["reg.exe query HKLM\\SOFTWARE\\Tether\\Agent"]);
    await provisioning.consume();
    expect(runner.calls.at(-1)).toBe("reg.exe delete HKLM\\SOFTWARE\\Tether\\Agent /v ConnectKey /f");
  });

  it("a missing key (reg.exe exits 1) provisions nothing and deletes nothing", async () => {
    const runner = recordingRunner(() => ({ exitCode: 1, stderr: "ERROR: The system was unable to find the specified registry key or value." }));
    const platform = new WindowsPlatform({ run: runner.run, env: ENV });
    const provisioning = await platform.readProvisioning(platform.installLayout());
    expect(provisioning.settings).toEqual({});
    await provisioning.consume();
    expect(runner.calls).toEqual(["reg.exe query HKLM\\SOFTWARE\\Tether\\Agent"]);
  });

  it("a scratch root has no registry", async () => {
    const runner = recordingRunner();
    const platform = new WindowsPlatform({ run: runner.run, env: ENV });
    expect((await platform.readProvisioning(platform.installLayout(), root)).settings).toEqual({});
    expect(runner.calls).toEqual([]);
  });
});
