import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import type { NetworkInterfaceInfo } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MachineFingerprintSchema } from "../../shared/src/protocol/inventory.js";
import { parseIoregPlatform } from "../../agent/src/os/darwin/ioreg.js";
import { DarwinPlatform } from "../../agent/src/os/darwin/platform.js";
import { LinuxPlatform } from "../../agent/src/os/linux/platform.js";
import { runCommand } from "../../agent/src/os/run.js";
import { selectPlatformDriver } from "../../agent/src/os/select.js";
import type { CommandResult, CommandRunner } from "../../agent/src/os/types.js";
import { WindowsPlatform } from "../../agent/src/os/windows/platform.js";
import { parseRegQueryValue } from "../../agent/src/os/windows/reg-query.js";

const fixture = (path: string) => readFile(new URL(`../fixtures/os/${path}`, import.meta.url), "utf8");

/** A runner that records every call and answers from a table keyed by the program's file name. */
function recordingRunner(answers: Record<string, CommandResult | Error> = {}) {
  const calls: { file: string; args: readonly string[] }[] = [];
  const run: CommandRunner = async (file, args) => {
    calls.push({ file, args });
    const answer = answers[file.split(/[\\/]/).pop() ?? file] ?? { stdout: "", stderr: "", exitCode: 0 };
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { run, calls };
}

const ok = (stdout: string): CommandResult => ({ stdout, stderr: "", exitCode: 0 });

function iface(mac: string, extra: Partial<NetworkInterfaceInfo> = {}): NetworkInterfaceInfo {
  return { address: "192.0.2.2", netmask: "255.255.255.0", family: "IPv4", mac, internal: false, cidr: null, ...extra } as NetworkInterfaceInfo;
}

describe("LinuxPlatform", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-linux-driver-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("restricts a file to 0600 and a directory to 0700", async () => {
    const file = join(dir, "agent.key");
    await writeFile(file, "secret", { mode: 0o644 });
    const sub = join(dir, "state");
    await mkdir(sub, { mode: 0o755 });
    const linux = new LinuxPlatform();

    await linux.restrictFile(file);
    await linux.restrictDirectory(sub);

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(sub)).mode & 0o777).toBe(0o700);
  });

  it("uses the state directory the packages create", () => {
    expect(new LinuxPlatform().defaultStateDir()).toBe("/var/lib/tether-agent");
  });

  it("reads the machine-id and serial from the injected paths", async () => {
    await writeFile(join(dir, "machine-id"), "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
    await writeFile(join(dir, "product_serial"), "  PF2ABCDE \n");
    const linux = new LinuxPlatform({
      paths: { machineIdFiles: [join(dir, "machine-id")], productSerialFile: join(dir, "product_serial") },
      networkInterfaces: () => ({}),
    });

    expect(await linux.machineFingerprint()).toEqual({ machineId: "3d1219c7c4c5404aaa1f6d2a48adfda4", serial: "PF2ABCDE", macs: [] });
  });

  it("falls back to the D-Bus machine-id when /etc/machine-id is empty or not yet initialised", async () => {
    await writeFile(join(dir, "etc-empty"), "");
    await writeFile(join(dir, "etc-uninit"), "uninitialized\n");
    await writeFile(join(dir, "dbus"), "0123456789abcdef0123456789abcdef\n");
    for (const first of ["etc-empty", "etc-uninit", "missing"]) {
      const linux = new LinuxPlatform({
        paths: { machineIdFiles: [join(dir, first), join(dir, "dbus")], productSerialFile: join(dir, "missing") },
        networkInterfaces: () => ({}),
      });
      const fp = await linux.machineFingerprint();
      expect(fp.machineId).toBe("0123456789abcdef0123456789abcdef");
      expect(fp.serial).toBeUndefined();
    }
  });

  it("leaves the machine-id out when no file holds one", async () => {
    const linux = new LinuxPlatform({
      paths: { machineIdFiles: [join(dir, "missing")], productSerialFile: join(dir, "missing") },
      networkInterfaces: () => ({}),
    });
    const fp = await linux.machineFingerprint();
    expect(fp).toEqual({ macs: [] });
    expect(MachineFingerprintSchema.safeParse(fp).success).toBe(true);
  });

  it("lists the MACs of hardware interfaces only: lower-case, sorted, unique", async () => {
    // The sysfs layout of a real host: hardware links into its bus, software interfaces into devices/virtual.
    const net = join(dir, "class-net");
    await mkdir(net);
    await symlink("../devices/pci0000:00/0000:00:1f.6/net/enp0s31f6", join(net, "enp0s31f6"));
    await symlink("../devices/pci0000:00/0000:00:14.3/net/wlp0s20f3", join(net, "wlp0s20f3"));
    await symlink("../devices/virtual/net/docker0", join(net, "docker0"));
    await symlink("../devices/virtual/net/lo", join(net, "lo"));
    await mkdir(join(dir, "devices/pci0000:00/0000:00:1f.6/net/enp0s31f6"), { recursive: true });
    await mkdir(join(dir, "devices/pci0000:00/0000:00:14.3/net/wlp0s20f3"), { recursive: true });
    await mkdir(join(dir, "devices/virtual/net/docker0"), { recursive: true });
    await mkdir(join(dir, "devices/virtual/net/lo"), { recursive: true });

    const linux = new LinuxPlatform({
      paths: { machineIdFiles: [], productSerialFile: join(dir, "missing"), sysClassNet: net },
      networkInterfaces: () => ({
        lo: [iface("00:00:00:00:00:00", { address: "127.0.0.1", internal: true })],
        wlp0s20f3: [iface("A4:C3:F0:11:22:33"), iface("A4:C3:F0:11:22:33", { family: "IPv6", address: "fe80::1" })],
        enp0s31f6: [iface("8c:16:45:aa:bb:cc")],
        "enp0s31f6:1": [iface("8c:16:45:aa:bb:cc", { address: "192.0.2.99" })],
        docker0: [iface("02:42:ac:11:00:01")],
        veth1234: [iface("ce:11:22:33:44:55")], // gone from /sys by the time we look: not counted
      }),
    });

    expect((await linux.machineFingerprint()).macs).toEqual(["8c:16:45:aa:bb:cc", "a4:c3:f0:11:22:33"]);
  });
});

describe("WindowsPlatform", () => {
  const env = { SystemRoot: "C:\\Windows", PROGRAMDATA: "D:\\ProgramData" };

  it("restricts a file to SYSTEM and Administrators by SID, removing inherited rights", async () => {
    const { run, calls } = recordingRunner();
    await new WindowsPlatform({ run, env }).restrictFile("C:\\ProgramData\\Tether\\agent.key");
    expect(calls).toEqual([
      {
        file: "C:\\Windows\\System32\\icacls.exe",
        args: ["C:\\ProgramData\\Tether\\agent.key", "/inheritance:r", "/grant:r", "*S-1-5-18:F", "*S-1-5-32-544:F"],
      },
    ]);
  });

  it("restricts a directory with inheritance to everything created inside", async () => {
    const { run, calls } = recordingRunner();
    await new WindowsPlatform({ run, env }).restrictDirectory("C:\\ProgramData\\Tether");
    expect(calls[0]?.args).toEqual([
      "C:\\ProgramData\\Tether",
      "/inheritance:r",
      "/grant:r",
      "*S-1-5-18:(OI)(CI)F",
      "*S-1-5-32-544:(OI)(CI)F",
    ]);
  });

  it("fails loudly when icacls fails, since a key left readable must not go unnoticed", async () => {
    const { run } = recordingRunner({
      "icacls.exe": { stdout: "Successfully processed 0 files; Failed processing 1 files\r\n", stderr: "C:\\x: The system cannot find the file specified.\r\n", exitCode: 2 },
    });
    await expect(new WindowsPlatform({ run, env }).restrictFile("C:\\x")).rejects.toThrow(/exited with 2: C:\\x: The system cannot find/);
  });

  it("keeps its state under ProgramData, falling back when the variable is missing", () => {
    const { run } = recordingRunner();
    expect(new WindowsPlatform({ run, env }).defaultStateDir()).toBe("D:\\ProgramData\\Tether");
    expect(new WindowsPlatform({ run, env: {} }).defaultStateDir()).toBe("C:\\ProgramData\\Tether");
  });

  it("takes MachineGuid from reg query and the serial from Win32_BIOS", async () => {
    const { run, calls } = recordingRunner({
      "reg.exe": ok(await fixture("windows/reg-query-MachineGuid-COMPOSED-crlf.txt")),
      "powershell.exe": ok("VMware-56 4d 1a 2b 3c 4d 5e 6f-70 81 92 a3 b4 c5 d6 e7\r\n"),
    });
    const fp = await new WindowsPlatform({ run, env }).machineFingerprint();

    expect(fp).toEqual({
      machineId: "8f0b6c2e-3d4a-4f51-9a7e-1c2d3e4f5a6b",
      serial: "VMware-56 4d 1a 2b 3c 4d 5e 6f-70 81 92 a3 b4 c5 d6 e7",
      macs: [],
    });
    expect(calls).toContainEqual({
      file: "C:\\Windows\\System32\\reg.exe",
      args: ["query", "HKLM\\SOFTWARE\\Microsoft\\Cryptography", "/v", "MachineGuid"],
    });
    expect(calls).toContainEqual({
      file: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
      args: ["-NoProfile", "-NonInteractive", "-Command", "(Get-CimInstance Win32_BIOS).SerialNumber"],
    });
  });

  it("leaves out what a failing tool could not say", async () => {
    const { run } = recordingRunner({
      "reg.exe": { stdout: "", stderr: await fixture("windows/reg-query-ScreenSaveTimeout-not-found-error.txt"), exitCode: 1 },
      "powershell.exe": new Error("Command timed out after 30000 milliseconds"),
    });
    expect(await new WindowsPlatform({ run, env }).machineFingerprint()).toEqual({ macs: [] });
  });
});

describe("reg query parsing", () => {
  it("reads a value from CRLF output", async () => {
    const out = await fixture("windows/reg-query-MachineGuid-COMPOSED-crlf.txt");
    expect(out).toContain("\r\n");
    expect(parseRegQueryValue(out, "MachineGuid")).toEqual({ type: "REG_SZ", data: "8f0b6c2e-3d4a-4f51-9a7e-1c2d3e4f5a6b" });
  });

  it("reads real captures with LF and with CRLF line endings alike", async () => {
    const lf = await fixture("windows/reg-query-ScreenSaveTimeOut-300-hku-sid.txt");
    expect(lf).not.toContain("\r");
    for (const out of [lf, lf.replace(/\n/g, "\r\n")]) {
      expect(parseRegQueryValue(out, "ScreenSaveTimeOut")).toEqual({ type: "REG_SZ", data: "300" });
    }
    expect(parseRegQueryValue(await fixture("windows/reg-query-ScreenSaveTimeout-0-hkcu.txt"), "ScreenSaveTimeout")).toEqual({
      type: "REG_SZ",
      data: "0",
    });
  });

  it("matches value names case-insensitively, as the registry does", async () => {
    const out = await fixture("windows/reg-query-ScreenSaveTimeOut-300-hku-sid.txt");
    expect(parseRegQueryValue(out, "screensavetimeout")?.data).toBe("300");
  });

  it("does not take the key line or another value for the one asked for", async () => {
    const out = await fixture("windows/reg-query-ScreenSaveTimeOut-300-hku-sid.txt");
    expect(parseRegQueryValue(out, "Desktop")).toBeUndefined();
    expect(parseRegQueryValue(await fixture("windows/reg-query-ScreenSaveTimeout-not-found-error.txt"), "ScreenSaveTimeout")).toBeUndefined();
  });

  it("keeps spaces inside names and data, and reads empty data and DWORDs", () => {
    const out = [
      "",
      "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\TetherAgent",
      "    DisplayName    REG_SZ    Tether Agent  Service",
      "    Start    REG_DWORD    0x2",
      "    Empty Value    REG_SZ    ",
      "",
    ].join("\r\n");
    expect(parseRegQueryValue(out, "DisplayName")).toEqual({ type: "REG_SZ", data: "Tether Agent  Service" });
    expect(parseRegQueryValue(out, "Start")).toEqual({ type: "REG_DWORD", data: "0x2" });
    expect(parseRegQueryValue(out, "Empty Value")).toEqual({ type: "REG_SZ", data: "" });
  });
});

describe("DarwinPlatform", () => {
  it("parses UUID and serial from a real Apple silicon ioreg dump", async () => {
    const out = await fixture("darwin/ioreg-rd1-IOPlatformExpertDevice-apple-silicon-MacBookPro18-1.txt");
    expect(parseIoregPlatform(out)).toEqual({ uuid: "81895B8D-9EF9-4EBB-B5DE-B00069CF53F0", serial: "HDWLIF2LM7" });
  });

  it("parses an Intel Mac's dump, where raw serial-number data comes before the string property", async () => {
    const out = await fixture("darwin/ioreg-rd1-IOPlatformExpertDevice-intel-MacBookPro12-1-REDACTED.txt");
    expect(parseIoregPlatform(out)).toEqual({ uuid: "A3344D1DD-1234-22A1-B123-11AB1C11D111", serial: "CCCCCCCCC" });
  });

  it("parses the tree form that ioreg prints without -r", () => {
    // Lines from a real `ioreg -c IOPlatformExpertDevice` paste (MacBookPro10,1) in a public blog post.
    const out = [
      "+-o Root <class IORegistryEntry, id 0x100000100, retain 15>",
      "  +-o MacBookPro10,1 <class IOPlatformExpertDevice, id 0x100000110, registered, matched, active, busy 0 (59297 ms), retain 42>",
      "    | {",
      '    | "IOPlatformUUID" = "CB31F9D1-9D33-5AF6-99B5-53313425533A"',
      '    | "IOPlatformSerialNumber" = "C020000MFF00"',
      "    | }",
    ].join("\n");
    expect(parseIoregPlatform(out)).toEqual({ uuid: "CB31F9D1-9D33-5AF6-99B5-53313425533A", serial: "C020000MFF00" });
  });

  it("gives nothing for output without the properties", () => {
    expect(parseIoregPlatform("")).toEqual({});
    expect(parseIoregPlatform('    "IOPlatformUUID" = ""\n')).toEqual({});
  });

  it("runs ioreg by absolute path and keeps only en* MACs", async () => {
    const { run, calls } = recordingRunner({
      ioreg: ok(await fixture("darwin/ioreg-rd1-IOPlatformExpertDevice-apple-silicon-MacBookPro18-1.txt")),
    });
    const darwin = new DarwinPlatform({
      run,
      networkInterfaces: () => ({
        lo0: [iface("00:00:00:00:00:00", { internal: true })],
        en0: [iface("3C:22:FB:01:02:03")],
        awdl0: [iface("1e:2f:3a:4b:5c:6d")],
        utun0: [iface("00:00:00:00:00:00")],
      }),
    });

    expect(await darwin.machineFingerprint()).toEqual({
      machineId: "81895B8D-9EF9-4EBB-B5DE-B00069CF53F0",
      serial: "HDWLIF2LM7",
      macs: ["3c:22:fb:01:02:03"],
    });
    expect(calls).toEqual([{ file: "/usr/sbin/ioreg", args: ["-rd1", "-c", "IOPlatformExpertDevice"] }]);
    expect(darwin.defaultStateDir()).toBe("/Library/Application Support/Tether");
  });

  it("leaves UUID and serial out when ioreg fails", async () => {
    const { run } = recordingRunner({ ioreg: { stdout: "", stderr: "", exitCode: 1 } });
    expect(await new DarwinPlatform({ run, networkInterfaces: () => ({}) }).machineFingerprint()).toEqual({ macs: [] });
  });
});

describe("runCommand", () => {
  const node = process.execPath;

  it("returns output and a non-zero exit code as a result, and passes arguments without a shell", async () => {
    const result = await runCommand(node, ["-e", "console.log(process.argv[1]); console.error('warn'); process.exit(3)", "$(id) ; *"]);
    expect(result).toEqual({ stdout: "$(id) ; *", stderr: "warn", exitCode: 3 });
  });

  it("rejects when the program cannot be started or runs past its timeout", async () => {
    await expect(runCommand("/nonexistent/tether-tool", [])).rejects.toThrow(/ENOENT/);
    await expect(runCommand(node, ["-e", "setTimeout(() => {}, 10_000)"], { timeoutMs: 100 })).rejects.toThrow(/timed out/);
  });
});

describe("selectPlatformDriver", () => {
  it("maps process.platform names to drivers and refuses others", () => {
    expect(selectPlatformDriver("linux").name).toBe("linux");
    expect(selectPlatformDriver("darwin").name).toBe("darwin");
    expect(selectPlatformDriver("win32").name).toBe("windows");
    expect(() => selectPlatformDriver("aix")).toThrow(/does not support aix/);
  });

  it("gives this machine a fingerprint that validates", async () => {
    const fp = await selectPlatformDriver().machineFingerprint();
    expect(MachineFingerprintSchema.parse(fp)).toEqual(fp);
    expect(fp.machineId ?? fp.serial ?? fp.macs[0]).toBeDefined();
  });
});
