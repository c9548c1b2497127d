// runAs a real non-root user, created for the test without touching this machine's accounts: the test
// body runs in a private mount namespace where /etc and /home are bind-mounted copies, so useradd,
// groupadd and usermod change only the copies. Needs root (it is how the agent runs).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionOutcome, ExecutionSpec } from "../../agent/src/executor/types.js";

const HARNESS = fileURLToPath(new URL("../fixtures/executor/run-harness.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const USER = "tetheruser";
const EXTRA_GROUP = "tetherextra";

// Runs inside the namespace. Everything variable arrives through the environment, not the string.
const NAMESPACE_SCRIPT = [
  'mount --bind "$T/etc" /etc',
  'mount --bind "$T/home" /home',
  `groupadd ${EXTRA_GROUP}`,
  `useradd -m -s /bin/bash ${USER}`,
  `usermod -aG ${EXTRA_GROUP} ${USER}`,
  'exec "$NODE" --import tsx "$HARNESS" "$T/input.json"',
].join(" && ");

const IDENTITY_SCRIPT = `
echo "user=$(id -un)"
echo "uid=$(id -u)"
echo "groups=$(id -Gn)"
echo "gids=$(id -G)"
echo "HOME=$HOME"
echo "USER=$USER"
echo "LOGNAME=$LOGNAME"
echo "SHELL=$SHELL"
echo "PATH=$PATH"
echo "EXTRA=$EXTRA"
echo "AGENT_ONLY=\${TETHER_TEST_AGENT_ONLY:-unset}"
echo "scriptdir=$(stat -c %U:%a "$(dirname "$0")")"
echo "script=$0"
echo "file=$(stat -c %U:%G:%a /home/${USER}/inbox/report.txt)"
echo "dir=$(stat -c %U:%a /home/${USER}/inbox)"
echo "content=$(cat /home/${USER}/inbox/report.txt)"
touch "$HOME/written-by-script" && echo "home-writable=yes"
`;

const STUBBORN_TREE = `
setsid bash -c 'trap "" TERM; echo "grandchild $$"; exec sleep 1000' &
echo "script $$"
sleep 1000
`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

const fields = (stdout: string) => Object.fromEntries(stdout.trim().split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2)));

describe.skipIf(process.getuid?.() !== 0)("runExecution as a local user (linux, private mount namespace)", () => {
  let t: string;
  let outcomes: ExecutionOutcome[];

  beforeAll(async () => {
    t = await mkdtemp(join(tmpdir(), "tether-runas-"));
    await execa("cp", ["-a", "/etc", join(t, "etc")]);
    await mkdir(join(t, "home"));
    const report = Buffer.from("quarterly numbers\n");
    const sha256 = createHash("sha256").update(report).digest("hex");
    const base: Omit<ExecutionSpec, "executionId" | "script"> = {
      shell: "bash",
      runAs: USER,
      timeoutSeconds: 30,
      env: {},
      files: [],
      outputLimitBytes: 65536,
    };
    const runs: ExecutionSpec[] = [
      {
        ...base,
        executionId: "runas-identity",
        script: IDENTITY_SCRIPT,
        env: { EXTRA: "from the command" },
        files: [{ path: `/home/${USER}/inbox/report.txt`, sha256, size: report.length }],
      },
      { ...base, executionId: "runas-shebang", script: '#!/usr/bin/env python3\nimport os\nprint(os.getuid(), os.getgid(), os.environ["HOME"])\n' },
      { ...base, executionId: "runas-timeout", script: STUBBORN_TREE, timeoutSeconds: 1 },
    ];
    await writeFile(join(t, "input.json"), JSON.stringify({ runs, attachments: { [sha256]: report.toString("base64") }, killGraceMs: 300 }));
    const { stdout } = await execa("unshare", ["--mount", "--propagation", "private", "sh", "-c", NAMESPACE_SCRIPT], {
      cwd: ROOT,
      env: { T: t, NODE: process.execPath, HARNESS, TETHER_TEST_AGENT_ONLY: "the agent's secret" },
    });
    outcomes = JSON.parse(stdout) as ExecutionOutcome[];
  });
  afterAll(async () => {
    if (t) await rm(t, { recursive: true, force: true });
  });

  it("runs with the user's uid, groups (supplementary ones included), HOME and login environment", () => {
    const [identity] = outcomes;
    expect(identity).toMatchObject({ status: "succeeded", exitCode: 0, stderr: "", error: null });
    const got = fields(identity!.stdout);
    expect(got.user).toBe(USER);
    expect(Number(got.uid)).toBeGreaterThan(0);
    expect(got.groups!.split(" ").sort()).toEqual([EXTRA_GROUP, USER].sort());
    expect(got.gids!.split(" ")).not.toContain("0");
    expect(got).toMatchObject({
      HOME: `/home/${USER}`,
      USER,
      LOGNAME: USER,
      SHELL: "/bin/bash",
      PATH: "/usr/local/bin:/bin:/usr/bin",
      EXTRA: "from the command",
      // Nothing of the agent's own environment reaches the user's script.
      AGENT_ONLY: "unset",
      "home-writable": "yes",
    });
  });

  it("hands the private script directory and the placed attachment to the user", () => {
    const got = fields(outcomes[0]!.stdout);
    expect(got.scriptdir).toBe(`${USER}:700`);
    expect(got.file).toBe(`${USER}:${USER}:644`);
    expect(got.dir).toBe(`${USER}:755`);
    expect(got.content).toBe("quarterly numbers");
    expect(existsSync(got.script!)).toBe(false);
  });

  it("runs a shebang script as the user", () => {
    const [, shebang] = outcomes;
    expect(shebang).toMatchObject({ status: "succeeded", exitCode: 0 });
    const [uid, gid, home] = shebang!.stdout.trim().split(" ");
    expect(Number(uid)).toBe(Number(fields(outcomes[0]!.stdout).uid));
    expect(Number(gid)).toBeGreaterThan(0);
    expect(home).toBe(`/home/${USER}`);
  });

  it("kills the user's whole tree on timeout, SIGTERM-trapping grandchild included", () => {
    const [, , timedOut] = outcomes;
    expect(timedOut).toMatchObject({ status: "timed_out", exitCode: 124 });
    const pids = [...timedOut!.stdout.matchAll(/^(?:script|grandchild) (\d+)$/gm)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it("left this machine's accounts alone", () => {
    expect(readFileSync("/etc/passwd", "utf8")).not.toContain(`${USER}:`);
    expect(readFileSync("/etc/group", "utf8")).not.toContain(`${EXTRA_GROUP}:`);
    expect(existsSync(`/home/${USER}`)).toBe(false);
  });
});
