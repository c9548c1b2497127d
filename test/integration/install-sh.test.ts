import { execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { InstallCommands } from "../../control-plane/src/domain/downloads.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { httpsGet } from "../helpers/https-get.js";

/**
 * install.sh for real: the one-liner an admin gets, run with real curl and sh against a real control
 * plane, down to `tether-agent install`. The agent binaries here are stand-ins, small scripts that
 * write down the arguments they got (the real binary's install is tested in the service tests); they
 * need root for nothing and write nowhere but their output file. So `sudo` and `id` are stand-ins too,
 * first on the PATH: the tests run as any user.
 */

let cp: TestControlPlane;
let dir: string;
let work: string;
let commands: InstallCommands;
let connectKey: string;
/** Where a stand-in writes its target, its own path, then each argument, one a line. */
let out: string;

/** A stand-in for tether-agent-<target>. */
function standIn(target: string, note = ""): string {
  return [
    "#!/bin/sh",
    `# stand-in for tether-agent-${target} ${note}`,
    `{ echo ${target}; echo "$0"; for arg in "$@"; do printf '%s\\n' "$arg"; done; } >"$STANDIN_OUT"`,
    'exit "${STANDIN_EXIT:-0}"',
    "",
  ].join("\n");
}

function writeStandIn(target: string, note = ""): void {
  writeFileSync(join(dir, "agent", `tether-agent-${target}`), standIn(target, note), { mode: 0o755 });
}

/** A directory of small programs to put first on the PATH. */
function fakeBin(programs: Record<string, string>): string {
  const bin = mkdtempSync(join(work, "bin-"));
  for (const [name, body] of Object.entries(programs)) writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return bin;
}

/** A directory holding only these tools (links to the real ones), to be the whole PATH. */
async function onlyTools(tools: string[]): Promise<string> {
  const bin = mkdtempSync(join(work, "tools-"));
  for (const tool of tools) {
    const { stdout } = await promisify(execFile)("sh", ["-c", `command -v ${tool}`]);
    symlinkSync(stdout.trim(), join(bin, tool));
  }
  return bin;
}

const fakeUname = (system: string, machine: string) => fakeBin({ uname: `case "$1" in -s) echo ${system} ;; -m) echo ${machine} ;; *) exit 1 ;; esac` });

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface BashOptions {
  vars?: Record<string, string>;
  /** Programs to find before the `sudo` and `id` stand-ins. */
  first?: string;
  /** The rest of the PATH; default: the test's own. */
  base?: string;
  input?: string;
}

/** Runs a bash command line (pipefail on) in the test's own environment minus TETHER_*, with these variables and PATH. */
function bash(commandLine: string, { vars = {}, first, base = process.env.PATH, input }: BashOptions = {}): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TETHER_") && name !== "CONNECT_KEY"));
  const path = [first, asRoot, base].filter(Boolean).join(":");
  const child = spawn("/bin/bash", ["-o", "pipefail", "-c", commandLine], {
    cwd: work,
    env: { ...env, STANDIN_OUT: out, ...vars, PATH: path },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input ?? "");
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The admin's one-liner with the key in it. */
function oneLiner(key: string, extra = ""): string {
  return `${commands.linux.replace("CONNECT_KEY", key)}${extra}`;
}

/** What reached the stand-in: its target, the directory it ran from, and its arguments. */
function installed(): { target: string; ranFrom: string; args: string[] } {
  const [target, path, ...args] = readFileSync(out, "utf8").replace(/\n$/, "").split("\n");
  return { target: target!, ranFrom: dirname(path!), args };
}

/** install.sh as this server renders it now. */
async function script(): Promise<string> {
  const res = await httpsGet(cp.url, "/install.sh", { ca: cp.caPem });
  expect(res.status).toBe(200);
  return res.text;
}

/** `sudo` that runs its command, and `id` that says root. */
let asRoot: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tether-install-sh-"));
  work = mkdtempSync(join(tmpdir(), "tether-install-sh-work-"));
  chmodSync(work, 0o755);
  mkdirSync(join(dir, "agent"));
  writeStandIn("linux-x64");
  writeStandIn("linux-arm64");
  cp = await startControlPlane({ env: { TETHER_DOWNLOADS_DIR: dir } });
  commands = (await cp.api<InstallCommands>("GET", "/api/v1/install-commands")).body;
  connectKey = (await cp.api<{ connectKey: string }>("POST", "/api/v1/connect-keys", { name: "install-sh" })).body.connectKey;
  asRoot = fakeBin({ sudo: 'exec "$@"', id: "echo 0" });
});
afterAll(async () => {
  await cp?.cleanup();
  for (const d of [dir, work]) if (d) rmSync(d, { recursive: true, force: true });
});
beforeEach(() => {
  out = join(mkdtempSync(join(work, "run-")), "args");
});

describe("the one-liner", () => {
  it("checks the download and runs tether-agent install with every argument as it was given", async () => {
    const root = join(work, "target root");
    const name = `front "desk" $(touch ${work}/pwned) 'x' \`id\` ; \\ $HOME`;
    const run = await bash(oneLiner(connectKey, ' --display-name "$NAME" --group web --group "berlin office" --root "$ROOT" --no-start'), {
      vars: { NAME: name, ROOT: root },
    });
    expect(run, run.stderr).toMatchObject({ code: 0 });
    const got = installed();
    expect(got.target).toBe("linux-x64");
    expect(got.args).toEqual(["install", "--connect-key", connectKey, "--display-name", name, "--group", "web", "--group", "berlin office", "--root", root, "--no-start"]);
    expect(existsSync(join(work, "pwned"))).toBe(false);
    // It ran from a private temporary directory, removed afterwards.
    expect(got.ranFrom).toMatch(/\/tether-install\.[A-Za-z0-9]+$/);
    expect(existsSync(got.ranFrom)).toBe(false);
    expect(run.stderr).toContain(`downloading ${cp.url}/downloads/tether-agent-linux-x64`);
    // The key is passed on, never printed.
    expect(run.stderr + run.stdout).not.toContain(connectKey.slice(4));
  });

  it("takes the key from CONNECT_KEY, the --opt=value forms, and passes on what follows --", async () => {
    const run = await bash(`${commands.linux.replace(/\| sudo sh -s -- --connect-key CONNECT_KEY$/, "")} | sh -s -- --display-name=laptop --server-url=https://other.example:8443 --frobnicate -- --group x --connect-key`, {
      vars: { CONNECT_KEY: connectKey },
    });
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(installed().args).toEqual([
      "install",
      "--connect-key",
      connectKey,
      "--display-name",
      "laptop",
      "--server-url",
      "https://other.example:8443",
      "--frobnicate",
      "--group",
      "x",
      "--connect-key",
    ]);
  });

  it("ends with install's exit status", async () => {
    const run = await bash(oneLiner(connectKey), { vars: { STANDIN_EXIT: "3" } });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/tether-agent install failed \(exit status 3\)/);
  });

  it("fails in curl, before any script runs, when the server's key is not the pinned one", async () => {
    const wrongPin = `sha256//${Buffer.alloc(32, 7).toString("base64")}`;
    const line = oneLiner(connectKey).replace(commands.pinnedPublicKey!, wrongPin);
    expect(line).toContain(wrongPin);
    const run = await bash(line);
    expect(run.code).toBe(90); // CURLE_SSL_PINNEDPUBKEYNOTMATCH
    expect(existsSync(out)).toBe(false);
  });
});

describe("install.sh's own checks", () => {
  /** Runs the script as this server rendered it (or `text`), fed to sh on stdin as the one-liner does, with $KEY a real key. */
  async function runScript(args: string, options: Omit<BashOptions, "input"> & { text?: string } = {}): Promise<Run> {
    const { text, vars, ...rest } = options;
    return bash(`sh -s -- ${args}`, { ...rest, vars: { KEY: connectKey, ...vars }, input: text ?? (await script()) });
  }

  it("refuses a download that is not the binary it was made for, and runs nothing", async () => {
    const text = await script();
    writeStandIn("linux-x64", "(changed after the script was made)");
    try {
      const run = await runScript('--connect-key "$KEY"', { text });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/the downloaded tether-agent-linux-x64 is not the one this script was made for \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/);
      expect(existsSync(out)).toBe(false);
    } finally {
      writeStandIn("linux-x64");
    }
  });

  it("refuses a malformed connect key before it downloads anything, and does not print it", async () => {
    const curlLog = join(work, "curl.log");
    const spy = fakeBin({ curl: `echo "$*" >>"${curlLog}"\nexec /usr/bin/curl "$@"`, wget: `echo "$*" >>"${curlLog}"\nexit 1` });
    for (const key of ["tck_x';reboot;'", "tck_", "TCK_abc", "tck_abc def", "tck_$(id)", "tck_abc\nx", "tck_äbc", "tck_a=b", "--display-name"]) {
      const run = await runScript('--connect-key "$KEY"', { vars: { KEY: key }, first: spy });
      expect(run.code, key).toBe(2);
      expect(run.stderr, key).toMatch(/^tether install: (that is not a connect key|give a connect key)/);
      if (key.length > 4) expect(run.stderr, key).not.toContain(key.slice(4));
    }
    expect(existsSync(curlLog)).toBe(false);
    const none = await runScript("--display-name x");
    expect(none).toMatchObject({ code: 2, stderr: expect.stringMatching(/give a connect key: --connect-key KEY/) });
    const noValue = await runScript("--group");
    expect(noValue).toMatchObject({ code: 2, stderr: expect.stringMatching(/--group needs a value/) });
    expect(existsSync(curlLog)).toBe(false);
  });

  it("picks the binary for the CPU: arm64 from aarch64", async () => {
    const run = await runScript('--connect-key "$KEY"', { first: fakeUname("Linux", "aarch64") });
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(installed().target).toBe("linux-arm64");
  });

  it("says clearly what it cannot install on", async () => {
    const cases: [string, string, RegExp][] = [
      ["FreeBSD", "amd64", /installs the agent on Linux and macOS, not on FreeBSD; on Windows, use install.ps1/],
      ["Linux", "riscv64", /there is no Tether agent for riscv64 processors/],
      ["Darwin", "arm64", new RegExp(`${cp.url.replace(/\./g, "\\.")} has no tether-agent-darwin-arm64 to download`)],
    ];
    for (const [system, machine, message] of cases) {
      const run = await runScript('--connect-key "$KEY"', { first: fakeUname(system, machine) });
      expect(run.code, system).toBe(1);
      expect(run.stderr, system).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });

  it("needs root", async () => {
    const run = await runScript('--connect-key "$KEY"', { first: fakeBin({ id: "echo 1000" }) });
    expect(run).toMatchObject({ code: 1, stderr: expect.stringMatching(/run this as root: curl \.\.\. \| sudo sh -s -- --connect-key/) });
  });

  it("downloads with wget when there is no curl, and checks with shasum when there is no sha256sum", async () => {
    const common = ["sh", "uname", "mktemp", "rm", "chmod", "cut"];
    const withWget = await runScript('--connect-key "$KEY"', { base: await onlyTools([...common, "wget", "sha256sum"]) });
    expect(withWget, withWget.stderr).toMatchObject({ code: 0 });
    expect(installed().args.slice(0, 3)).toEqual(["install", "--connect-key", connectKey]);

    rmSync(out);
    const withShasum = await runScript('--connect-key "$KEY"', { base: await onlyTools([...common, "curl", "shasum"]) });
    expect(withShasum, withShasum.stderr).toMatchObject({ code: 0 });
    expect(installed().target).toBe("linux-x64");
  });

  it("refuses to run when it was not rendered by a control plane", async () => {
    const template = readFileSync(new URL("../../installers/install.sh", import.meta.url), "utf8");
    const run = await runScript('--connect-key "$KEY"', { text: template });
    expect(run).toMatchObject({ code: 1, stderr: expect.stringMatching(/download this script from your Tether control plane/) });
  });
});
