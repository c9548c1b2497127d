// The OS halves of the script runner: command lines, user look-ups and tree kills, with a recording
// runner fed with real tool outputs (macOS and Windows cannot run here).
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { RunAsAccount, ScriptFile } from "../../agent/src/executor/types.js";
import { DarwinScriptHost } from "../../agent/src/os/darwin/exec.js";
import { parseDsclUser } from "../../agent/src/os/darwin/exec-dscl.js";
import { parsePsProcesses } from "../../agent/src/os/darwin/exec-ps.js";
import { DarwinPlatform } from "../../agent/src/os/darwin/platform.js";
import { LinuxScriptHost } from "../../agent/src/os/linux/exec.js";
import { parsePasswdLine } from "../../agent/src/os/linux/exec-passwd.js";
import { parseProcStat } from "../../agent/src/os/linux/exec-proc.js";
import { LinuxPlatform } from "../../agent/src/os/linux/platform.js";
import type { CommandResult, CommandRunner } from "../../agent/src/os/types.js";
import { WindowsScriptHost } from "../../agent/src/os/windows/exec.js";
import { WindowsPlatform } from "../../agent/src/os/windows/platform.js";

const fixture = (name: string) => readFile(new URL(`../fixtures/executor/${name}`, import.meta.url), "utf8");

/** Records every call; answers from a table keyed by the program's file name, else exit 0 and no output. */
function recordingRunner(answers: Record<string, CommandResult> = {}) {
  const calls: { file: string; args: readonly string[] }[] = [];
  const run: CommandRunner = async (file, args) => {
    calls.push({ file, args });
    return answers[file.split(/[\\/]/).pop() ?? file] ?? { stdout: "", stderr: "", exitCode: 0 };
  };
  return { run, calls };
}

const plain: ScriptFile = { name: "script", data: Buffer.from("echo hi"), executable: false };
const shebang: ScriptFile = { name: "script", data: Buffer.from("#!/usr/bin/env python3"), executable: true };
const alice: RunAsAccount = { kind: "user", name: "alice", uid: 1001, gid: 1002, home: "/home/alice", loginShell: "/bin/zsh" };
const env = { GREETING: "secret value", TETHER_EXECUTION_ID: "e1" };

describe("LinuxScriptHost", () => {
  it("reads a passwd entry in getent's format", async () => {
    const passwd = await fixture("getent-passwd-format-ubuntu1804-etc-passwd.txt");
    expect(parsePasswdLine(passwd, "joeuser")).toEqual({ kind: "user", name: "joeuser", uid: 1000, gid: 1000, home: "/home/joeuser", loginShell: "/bin/bash" });
    expect(parsePasswdLine(passwd, "joe")).toBeUndefined();
  });

  it("looks users up with getent, and names an unknown one", async () => {
    const found = recordingRunner({ getent: { stdout: "alice:x:1001:1002:Alice,,,:/home/alice:/bin/zsh\n", stderr: "", exitCode: 0 } });
    expect(await new LinuxScriptHost({ run: found.run }).resolveAccount("alice")).toEqual(alice);
    expect(found.calls).toEqual([{ file: "/usr/bin/getent", args: ["passwd", "alice"] }]);

    const missing = recordingRunner({ getent: { stdout: "", stderr: "", exitCode: 2 } });
    await expect(new LinuxScriptHost({ run: missing.run }).resolveAccount("bob")).rejects.toThrow("no local user named bob");

    const root = recordingRunner();
    expect(await new LinuxScriptHost({ run: root.run }).resolveAccount("root")).toEqual({ kind: "agent" });
    expect(root.calls).toEqual([]);
  });

  it("runs as root with the agent's environment plus the execution's", async () => {
    const host = new LinuxScriptHost({ run: recordingRunner().run });
    expect(await host.launch({ shell: "bash", scriptPath: "/tmp/d/script", script: plain, account: { kind: "agent" }, env })).toEqual({
      file: "/bin/bash",
      args: ["/tmp/d/script"],
      env,
      extendEnv: true,
      detached: true,
    });
    const direct = await host.launch({ shell: "bash", scriptPath: "/tmp/d/script", script: shebang, account: { kind: "agent" }, env });
    expect([direct.file, direct.args]).toEqual(["/tmp/d/script", []]);
  });

  it("runs as a user through setpriv with the user's ids and groups, and a login environment only", async () => {
    const host = new LinuxScriptHost({ run: recordingRunner().run });
    const command = await host.launch({ shell: "sh", scriptPath: "/tmp/d/script", script: plain, account: alice, env });
    expect(command).toEqual({
      file: "/usr/bin/setpriv",
      args: ["--reuid=1001", "--regid=1002", "--init-groups", "--", "/bin/sh", "/tmp/d/script"],
      env: { HOME: "/home/alice", SHELL: "/bin/zsh", USER: "alice", LOGNAME: "alice", PATH: "/usr/local/bin:/bin:/usr/bin", ...env },
      extendEnv: false,
      detached: true,
    });
    // Values travel in the environment, never on a command line that /proc/PID/cmdline shows to all.
    expect(command.args.join(" ")).not.toContain("secret");
  });

  it("reads /proc/PID/stat, whatever the command name holds", () => {
    const self = parseProcStat(readFileSync("/proc/self/stat", "utf8"));
    expect(self).toMatchObject({ pid: process.pid, ppid: process.ppid, zombie: false });
    const odd = "4242 (a) (b c)) Z 1 4240 4240 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0 18446744073709551615";
    expect(parseProcStat(odd)).toEqual({ pid: 4242, ppid: 1, pgid: 4240, sid: 4240, start: "987654", zombie: true });
  });

  it("is what the Linux platform driver offers", () => {
    expect(new LinuxPlatform().scriptHost()).toBeInstanceOf(LinuxScriptHost);
  });
});

describe("DarwinScriptHost", () => {
  const dsclAnswer = async (): Promise<CommandResult> => ({ stdout: await fixture("dscl-read-Users-local-user-JPEGPhoto-ELIDED.txt"), stderr: "", exitCode: 0 });

  it("reads a user from a real dscl dump, with native keys and plists around the standard ones", async () => {
    expect(parseDsclUser(await fixture("dscl-read-Users-local-user-JPEGPhoto-ELIDED.txt"), "itsafeature")).toEqual({
      kind: "user",
      name: "itsafeature",
      uid: 501,
      gid: 20,
      home: "/Users/itsafeature",
      loginShell: "/bin/bash",
    });
    expect(parseDsclUser("NFSHomeDirectory:\n /Users/with space\nPrimaryGroupID: 20\nUniqueID: 502\n", "x")).toMatchObject({ home: "/Users/with space", uid: 502 });
    expect(parseDsclUser("No such key: UniqueID\n", "x")).toBeUndefined();
  });

  it("looks users up with dscl and names an unknown one", async () => {
    const found = recordingRunner({ dscl: await dsclAnswer() });
    expect(await new DarwinScriptHost({ run: found.run }).resolveAccount("itsafeature")).toMatchObject({ uid: 501, gid: 20 });
    expect(found.calls).toEqual([
      { file: "/usr/bin/dscl", args: [".", "-read", "/Users/itsafeature", "UniqueID", "PrimaryGroupID", "NFSHomeDirectory", "UserShell"] },
    ]);
    const missing = recordingRunner({ dscl: { stdout: "", stderr: "<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)\n", exitCode: 56 } });
    await expect(new DarwinScriptHost({ run: missing.run }).resolveAccount("bob")).rejects.toThrow("no local user named bob");
  });

  it("runs as a user through sudo with an argument array, the environment preserved from sudo's own", async () => {
    const host = new DarwinScriptHost({ run: recordingRunner().run, isExecutable: async () => true });
    const command = await host.launch({ shell: "zsh", scriptPath: "/private/tmp/d/script", script: plain, account: alice, env });
    expect(command).toEqual({
      file: "/usr/bin/sudo",
      args: ["-n", "-H", "-u", "alice", "--preserve-env=HOME,SHELL,USER,LOGNAME,PATH,GREETING,TETHER_EXECUTION_ID", "--", "/bin/zsh", "/private/tmp/d/script"],
      env: { HOME: "/home/alice", SHELL: "/bin/zsh", USER: "alice", LOGNAME: "alice", PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", ...env },
      extendEnv: false,
      detached: true,
    });
    expect(command.args.join(" ")).not.toContain("secret");
    const asRoot = await host.launch({ shell: "bash", scriptPath: "/private/tmp/d/script", script: shebang, account: { kind: "agent" }, env });
    expect([asRoot.file, asRoot.args, asRoot.extendEnv]).toEqual(["/private/tmp/d/script", [], true]);
    expect(host.tempBase).toBe("/private/tmp");
  });

  it("says which shell is missing", async () => {
    const host = new DarwinScriptHost({ run: recordingRunner().run, isExecutable: async () => false });
    await expect(host.launch({ shell: "zsh", scriptPath: "/s", script: plain, account: { kind: "agent" }, env })).rejects.toThrow(
      "shell zsh is not installed on this device (/bin/zsh)",
    );
    expect(() => host.checkShell("powershell")).toThrow("shell powershell is not available on darwin");
  });

  it("finds the tree with ps and signals its group, members and descendants, not zombies or strangers", async () => {
    const ps = await fixture("ps-axww-pid-ppid-pgid-stat-lstart-COMPOSED.txt");
    expect(parsePsProcesses(ps)[3]).toEqual({ pid: 5121, ppid: 5120, pgid: 5120, start: "Tue Jan  9 14:03:11 2024", zombie: false });
    const { run, calls } = recordingRunner({ ps: { stdout: ps, stderr: "", exitCode: 0 } });
    const sent: [number, string][] = [];
    const host = new DarwinScriptHost({ run, kill: (pid, signal) => void sent.push([pid, signal]) });
    const tree = host.processTree(5120, "TETHER_EXECUTION_ID=e1");
    await tree.signal("SIGTERM");
    expect(calls).toEqual([{ file: "/bin/ps", args: ["-axww", "-o", "pid=,ppid=,pgid=,stat=,lstart="] }]);
    expect(sent).toEqual([[-5120, "SIGTERM"], [5120, "SIGTERM"], [5121, "SIGTERM"], [5122, "SIGTERM"]]);
    expect(await tree.alive()).toBe(true);
  });

  it("is what the macOS platform driver offers", () => {
    expect(new DarwinPlatform({ run: recordingRunner().run }).scriptHost()).toBeInstanceOf(DarwinScriptHost);
  });
});

describe("WindowsScriptHost", () => {
  const host = (run = recordingRunner().run) =>
    new WindowsScriptHost({ run, tempBase: "C:\\ProgramData\\Tether\\executions", systemRoot: "C:\\Windows" });

  it("runs PowerShell with -File and no profile, prompt or execution policy", async () => {
    const command = await host().launch({ shell: "powershell", scriptPath: "C:\\ProgramData\\Tether\\executions\\d\\script.ps1", env });
    expect(command).toEqual({
      file: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
      args: ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", "C:\\ProgramData\\Tether\\executions\\d\\script.ps1"],
      env,
      extendEnv: true,
      detached: false,
    });
  });

  it("runs cmd with /d /c", async () => {
    const command = await host().launch({ shell: "cmd", scriptPath: "C:\\x\\script.cmd", env });
    expect([command.file, command.args]).toEqual(["C:\\Windows\\System32\\cmd.exe", ["/d", "/c", "C:\\x\\script.cmd"]]);
  });

  it("writes .ps1 with a UTF-8 BOM and .cmd with CRLF line endings", () => {
    const ps1 = host().scriptFile("powershell", "Write-Output 'é'\n");
    expect(ps1.name).toBe("script.ps1");
    expect([...ps1.data.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(ps1.data.subarray(3).toString("utf8")).toBe("Write-Output 'é'\n");
    const cmd = host().scriptFile("cmd", "@echo off\n:loop\r\necho hi\n");
    expect([cmd.name, cmd.data.toString("utf8")]).toEqual(["script.cmd", "@echo off\r\n:loop\r\necho hi\r\n"]);
  });

  it("runs as system only, and offers only its own shells", async () => {
    expect(await host().resolveAccount("system")).toEqual({ kind: "agent" });
    expect(await host().resolveAccount("SYSTEM")).toEqual({ kind: "agent" });
    await expect(host().resolveAccount("alice")).rejects.toThrow("scripts on windows run as system; running as alice is not supported");
    expect(() => host().checkShell("bash")).toThrow("shell bash is not available on windows");
  });

  it("kills the tree once with taskkill /T /F", async () => {
    const { run, calls } = recordingRunner();
    const tree = host(run).processTree(4242);
    expect(await tree.alive()).toBe(true);
    await tree.signal("SIGTERM");
    await tree.signal("SIGKILL");
    expect(calls).toEqual([{ file: "C:\\Windows\\System32\\taskkill.exe", args: ["/PID", "4242", "/T", "/F"] }]);
    expect(await tree.alive()).toBe(false);
  });

  it("is what the Windows platform driver offers, with its temp base inside the restricted state directory", () => {
    const scripts = new WindowsPlatform({ run: recordingRunner().run, env: { PROGRAMDATA: "D:\\PD", SystemRoot: "D:\\Win" } }).scriptHost();
    expect(scripts).toBeInstanceOf(WindowsScriptHost);
    expect(scripts.tempBase).toBe("D:\\PD\\Tether\\executions");
  });
});
