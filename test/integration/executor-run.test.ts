// The script runner with the real Linux host: real shells, real child processes, real process trees.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runExecution } from "../../agent/src/executor/run-execution.js";
import type { ExecutionOutcome, ExecutionSpec, RunHooks } from "../../agent/src/executor/types.js";
import { LinuxScriptHost } from "../../agent/src/os/linux/exec.js";
import { runCommand } from "../../agent/src/os/run.js";

const GRACE_MS = 500;
let base: string;
let host: LinuxScriptHost;
let counter = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "tether-executor-test-"));
  host = new LinuxScriptHost({ run: runCommand, tempBase: join(base, "runs"), killGraceMs: GRACE_MS });
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function spec(script: string, overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  counter += 1;
  return {
    executionId: `exec-${counter}`,
    script,
    shell: "bash",
    runAs: "root",
    timeoutSeconds: 30,
    env: {},
    files: [],
    outputLimitBytes: 1024 * 1024,
    ...overrides,
  };
}

const run = (s: ExecutionSpec, hooks: RunHooks = {}) => runExecution(s, hooks, host);

/** Alive and not a zombie: a killed orphan may wait a moment for init to reap it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Every "<label> <pid>" line the script printed. */
function printedPids(outcome: ExecutionOutcome): number[] {
  return [...outcome.stdout.matchAll(/^(?:script|sleeper|grandchild|daemon) (\d+)$/gm)].map((m) => Number(m[1]));
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

// A tree that outlives SIGTERM: the script and its sleeper die of it, but a grandchild that left the
// process group with setsid traps it (and is orphaned when the script dies), and so does a double-forked
// daemon that init adopted before anything was killed.
const STUBBORN_TREE = `
setsid bash -c 'trap "" TERM; echo "grandchild $$"; exec sleep 1000' &
( setsid bash -c 'trap "" TERM; echo "daemon $$"; exec sleep 1000' & )
sleep 1000 & echo "sleeper $!"
echo "script $$"
sleep 0.5
echo ready
wait
`;

describe("runExecution (linux, real processes)", () => {
  it("reports exit 0 as succeeded, with output and times", async () => {
    const before = Date.now();
    const outcome = await run(spec("echo hello"));
    expect(outcome).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "hello\n", stderr: "", error: null });
    expect(outcome.stdoutTruncated).toBe(false);
    expect(Date.parse(outcome.startedAt!)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(outcome.finishedAt)).toBeGreaterThanOrEqual(Date.parse(outcome.startedAt!));
  });

  it("reports a non-zero exit as failed with its code, and a death by signal as 128 + the signal", async () => {
    expect(await run(spec("echo partial; exit 3"))).toMatchObject({ status: "failed", exitCode: 3, stdout: "partial\n" });
    expect(await run(spec("kill -9 $$"))).toMatchObject({ status: "failed", exitCode: 137, error: null });
  });

  it("prepares while the journal is written and starts the process only once it is; nothing starts when that write fails", async () => {
    const marker = join(base, "started-anyway");
    let journaled!: () => void;
    const mayStart = new Promise<void>((resolve) => (journaled = resolve));
    let started = false;
    const running = run(spec(`touch '${marker}'`), { mayStart, onStarted: () => (started = true) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started).toBe(false);
    journaled();
    expect(await running).toMatchObject({ status: "succeeded" });
    expect(existsSync(marker)).toBe(true);

    await rm(marker);
    const failed = await run(spec(`touch '${marker}'`), { mayStart: Promise.reject(new Error("ENOSPC: no space left on device")) });
    expect(failed).toMatchObject({ status: "error", startedAt: null, error: "ENOSPC: no space left on device" });
    expect(existsSync(marker)).toBe(false);
  });

  it("runs the chosen shell: bash or sh", async () => {
    const exe = 'readlink /proc/$$/exe; echo "bash=${BASH_VERSION:-none}"';
    const bash = await run(spec(exe, { shell: "bash" }));
    const sh = await run(spec(exe, { shell: "sh" }));
    expect(bash.stdout.split("\n")[0]).toBe(realpathSync("/bin/bash"));
    expect(bash.stdout).toMatch(/bash=\d/);
    expect(sh.stdout.split("\n")[0]).toBe(realpathSync("/bin/sh"));
    expect(sh.stdout).toContain("bash=none");
  });

  it("lets a shebang line win over the shell, so #!/usr/bin/env python3 runs python", async () => {
    const outcome = await run(spec('#!/usr/bin/env python3\nimport sys\nprint("python", sys.version_info[0])\n', { shell: "sh" }));
    expect(outcome).toMatchObject({ status: "succeeded", stdout: "python 3\n" });
  });

  it("refuses a shell that is not installed, before anything runs", async () => {
    const outcome = await run(spec("echo never", { shell: "zsh" }));
    if (existsSync("/bin/zsh")) return; // this machine has zsh after all: nothing to prove
    expect(outcome).toMatchObject({ status: "error", exitCode: null, startedAt: null, error: "shell zsh is not installed on this device (/bin/zsh)" });
  });

  it("passes env vars to the script verbatim, with the execution id beside them", async () => {
    const value = `two words, 'quotes' "and" $HOME \`not run\``;
    const s = spec('printf "%s\\n" "$GREETING" "$TETHER_EXECUTION_ID"', { env: { GREETING: value } });
    const outcome = await run(s);
    expect(outcome.stdout).toBe(`${value}\n${s.executionId}\n`);
  });

  it("caps stdout to the limit, keeping the tail, and flags it", async () => {
    const outcome = await run(spec('for i in $(seq 1 20000); do echo "line $i"; done; echo small >&2', { outputLimitBytes: 1000 }));
    expect(outcome.status).toBe("succeeded");
    expect(outcome.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(outcome.stdout)).toBeLessThanOrEqual(1000);
    expect(Buffer.byteLength(outcome.stdout)).toBeGreaterThan(990);
    expect(outcome.stdout.endsWith("line 19999\nline 20000\n")).toBe(true);
    expect(outcome).toMatchObject({ stderr: "small\n", stderrTruncated: false });
  });

  it("never starts the kept tail inside a multi-byte character", async () => {
    // "é" is two bytes; an odd limit cuts one in half.
    const outcome = await run(spec("for i in $(seq 1 5000); do printf 'é'; done", { outputLimitBytes: 101 }));
    expect(outcome.stdoutTruncated).toBe(true);
    expect(outcome.stdout).toBe("é".repeat(50));
  });

  it("keeps stderr separate and streams both as they arrive", async () => {
    const chunks: { stream: string; text: string }[] = [];
    const outcome = await run(spec("echo out; echo err >&2; sleep 0.2; echo out2; echo err2 >&2; exit 1"), {
      onOutput: (stream, text) => chunks.push({ stream, text }),
    });
    expect(outcome).toMatchObject({ status: "failed", exitCode: 1, stdout: "out\nout2\n", stderr: "err\nerr2\n" });
    const streamed = (name: string) => chunks.filter((c) => c.stream === name).map((c) => c.text).join("");
    expect(streamed("stdout")).toBe("out\nout2\n");
    expect(streamed("stderr")).toBe("err\nerr2\n");
    expect(chunks.filter((c) => c.stream === "stdout").length).toBeGreaterThanOrEqual(2);
  });

  it("times out: kills the whole tree, SIGTERM-trapping grandchild and double-forked daemon included", async () => {
    const started = Date.now();
    let pid = 0;
    const outcome = await run(spec(STUBBORN_TREE, { timeoutSeconds: 2 }), { onStarted: (p) => (pid = p) });
    const elapsed = Date.now() - started;
    expect(outcome).toMatchObject({ status: "timed_out", exitCode: 124, error: null });
    const pids = printedPids(outcome);
    expect(pids).toHaveLength(4);
    expect(pids).toContain(pid);
    expect(pids.filter(isAlive)).toEqual([]);
    // Two of them ignored SIGTERM, so it took the grace period and SIGKILL.
    expect(elapsed).toBeGreaterThanOrEqual(2000 + GRACE_MS);
    expect(elapsed).toBeLessThan(2000 + GRACE_MS + 3000);
  });

  it("cancels a running script through the AbortSignal and kills its tree", async () => {
    const controller = new AbortController();
    let seen = "";
    const started = Date.now();
    const outcome = await run(spec(STUBBORN_TREE), {
      signal: controller.signal,
      onOutput: (stream, text) => {
        seen += stream === "stdout" ? text : "";
        if (seen.includes("ready")) controller.abort();
      },
    });
    expect(outcome.status).toBe("canceled");
    expect(outcome.startedAt).not.toBeNull();
    // The script itself died of the SIGTERM: 128 + 15.
    expect(outcome.exitCode).toBe(143);
    const pids = printedPids(outcome);
    expect(pids).toHaveLength(4);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("reports canceled, having run nothing, when aborted before the start", async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = join(base, "canceled-ran");
    const outcome = await run(spec(`touch ${marker}`), { signal: controller.signal });
    expect(outcome).toMatchObject({ status: "canceled", exitCode: null, startedAt: null, error: null });
    expect(existsSync(marker)).toBe(false);
  });

  it("writes the script into a private directory and removes it afterwards", async () => {
    const outcome = await run(spec('echo "$0"; stat -c %a "$(dirname "$0")" "$0"; pwd'));
    const [scriptPath, dirMode, fileMode, cwd] = outcome.stdout.trim().split("\n");
    expect(scriptPath?.startsWith(join(base, "runs"))).toBe(true);
    expect([dirMode, fileMode]).toEqual(["700", "700"]);
    expect(cwd).toBe(join(scriptPath!, ".."));
    expect(existsSync(scriptPath!)).toBe(false);
    expect(await readdir(join(base, "runs"))).toEqual([]);
    expect((await stat(join(base, "runs"))).mode & 0o777).toBe(0o700);
  });

  it("stops waiting for output held open by a background process once the script has exited", async () => {
    const started = Date.now();
    const outcome = await run(spec('sleep 60 & echo "bg $!"; echo done'));
    const bg = Number(/^bg (\d+)$/m.exec(outcome.stdout)?.[1]);
    try {
      expect(outcome).toMatchObject({ status: "succeeded", exitCode: 0 });
      expect(outcome.stdout).toContain("done\n");
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      if (bg > 0 && isAlive(bg)) process.kill(bg, "SIGKILL");
    }
  });

  it("places a checked attachment before the script starts: parents 0755, file 0644", async () => {
    const data = Buffer.from("payload from the control plane\n");
    const target = join(base, "files", "nested", "deep", "data.txt");
    const fetched: string[] = [];
    const outcome = await run(spec(`cat ${target}; stat -c %a ${target} ${join(base, "files", "nested")}`, {
      files: [{ path: target, sha256: sha256(data), size: data.length }],
    }), {
      fetchFile: async (hash) => {
        fetched.push(hash);
        return data;
      },
    });
    expect(outcome).toMatchObject({ status: "succeeded", stdout: `${data}644\n755\n` });
    expect(fetched).toEqual([sha256(data)]);
    expect(readFileSync(target, "utf8")).toBe(data.toString());
    // The atomic write leaves no temporary file beside it.
    expect(await readdir(join(base, "files", "nested", "deep"))).toEqual(["data.txt"]);
  });

  it("refuses to run when an attachment's checksum does not match, and places nothing", async () => {
    const good = Buffer.from("good\n");
    const bad = Buffer.from("tampered\n");
    const first = join(base, "bad", "first.txt");
    const second = join(base, "bad", "second.txt");
    const marker = join(base, "bad-ran");
    let calls = 0;
    const outcome = await run(spec(`touch ${marker}`, {
      files: [
        { path: first, sha256: sha256(good), size: good.length },
        { path: second, sha256: sha256(good), size: good.length },
      ],
    }), { fetchFile: async () => (calls++ === 0 ? good : bad) });
    expect(outcome).toMatchObject({ status: "error", exitCode: null, startedAt: null });
    expect(outcome.error).toBe(
      `attachment ${second}: checksum mismatch: expected sha256 ${sha256(good)} (${good.length} bytes), got ${sha256(bad)} (${bad.length} bytes)`,
    );
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(first)).toBe(false);
    expect(await readdir(join(base, "runs"))).toEqual([]);
  });

  it("refuses an unknown run-as user, an invalid name and a relative attachment path", async () => {
    expect(await run(spec("echo never", { runAs: "nosuchuser_tether" }))).toMatchObject({
      status: "error",
      startedAt: null,
      error: "no local user named nosuchuser_tether",
    });
    expect((await run(spec("echo never", { runAs: "-rf" }))).error).toBe('runAs "-rf" is not a valid user name');
    const relative = await run(spec("echo never", { files: [{ path: "etc/passwd", sha256: "a".repeat(64), size: 1 }] }));
    expect(relative.error).toBe('attachment path "etc/passwd" is not absolute');
  });

  it("goes on as usual when the caller's hooks throw", async () => {
    const outcome = await run(spec("echo still here"), {
      onStarted: () => {
        throw new Error("journal down");
      },
      onOutput: () => {
        throw new Error("socket closed");
      },
    });
    expect(outcome).toMatchObject({ status: "succeeded", stdout: "still here\n" });
  });

  it("cancels promptly while an attachment download hangs, having run nothing", async () => {
    const controller = new AbortController();
    const data = Buffer.from("x");
    setTimeout(() => controller.abort(), 100);
    const outcome = await run(spec("echo never", { files: [{ path: join(base, "hang", "x"), sha256: sha256(data), size: 1 }] }), {
      signal: controller.signal,
      fetchFile: () => new Promise<Buffer>(() => undefined),
    });
    expect(outcome).toMatchObject({ status: "canceled", startedAt: null, stdout: "" });
    expect(existsSync(join(base, "hang"))).toBe(false);
  });

  it("never throws: a host that fails in an unexpected way gives an error outcome", async () => {
    const broken = Object.create(host) as LinuxScriptHost;
    broken.launch = () => Promise.reject("not even an Error");
    const outcome = await runExecution(spec("echo never"), {}, broken);
    expect(outcome).toMatchObject({ status: "error", exitCode: null, startedAt: null, error: "not even an Error" });
    expect(await readdir(join(base, "runs"))).toEqual([]);
  });
});
