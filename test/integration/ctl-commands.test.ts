import { runTetherctl, type CtlRun } from "../helpers/run-tetherctl.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command, Execution } from "../../control-plane/src/domain/command.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { LaunchResult } from "../../control-plane/src/ctl/launch.js";
import { startAgent, type TestAgent } from "../helpers/agent.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/wait.js";

/**
 * tetherctl's commands, run and results against a real control plane and two real agents: scripts
 * really run, and --wait follows them to their real results.
 */



type Waited = LaunchResult & { finished: boolean };

let cp: TestControlPlane;
let agents: TestAgent[] = [];
let work: string;
let caFile: string;
/** The first agent's device, and the second's. */
let deviceId: string;
let otherId: string;

beforeAll(async () => {
  cp = await startControlPlane();
  work = mkdtempSync(join(tmpdir(), "ctl-commands-"));
  caFile = join(work, "ca.pem");
  writeFileSync(caFile, cp.caPem);
  agents = await Promise.all([0, 1].map(() => startAgent({ args: ["run", "--connect-key", cp.connectKey] })));
  const online = await waitFor(
    async () => {
      const devices = (await cp.api<Page<{ id: string; status: string }>>("GET", "/api/v1/devices")).body.results.filter((d) => d.status === "online");
      return devices.length === 2 ? devices : false;
    },
    { timeoutMs: 30_000, message: `both agents online\n${agents.map((a) => a.logs()).join("\n")}` },
  );
  [deviceId, otherId] = online.map((d) => d.id).sort() as [string, string];
});
afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop()));
  await cp?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs tetherctl with the connection in TETHER_* variables and no saved login; stdin is not a terminal. */
function ctl(args: string[]): Promise<CtlRun> {
  return runTetherctl(args, { TETHER_URL: cp.url, TETHER_API_KEY: cp.adminApiKey, TETHER_CA_FILE: caFile, TETHER_CONFIG: join(work, "no-login", "ctl.json") });
}

/** With --json first: after a `--` it would be part of the script. */
async function ctlJson<T>(args: string[]): Promise<T> {
  const run = await ctl(["--json", ...args]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

describe("tetherctl run (ad hoc)", () => {
  it("--wait on one device prints the script's output, then the summary, and exits 0", async () => {
    const run = await ctl(["run", "--device", deviceId, "--wait", "--", "echo hello"]);
    expect(run.code, run.stderr).toBe(0);
    const [output, header, row, ...rest] = run.stdout.split("\n");
    expect(output).toBe("hello");
    expect(header).toMatch(/^DEVICE\s+STATUS\s+EXIT CODE\s+DURATION$/);
    expect(row).toMatch(new RegExp(`^${deviceId}\\s+succeeded\\s+0\\s+\\S+$`));
    expect(rest).toEqual([""]);
    expect(run.stderr).toMatch(/^Started run run_\S+: 1 execution\n$/);
  });

  it("a failing script exits 1; its stderr goes to stderr and the summary names the exit code", async () => {
    const run = await ctl(["run", "--device", deviceId, "--wait", "--", "echo partial; echo oops >&2; exit 3"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^partial\\n.*\\n${deviceId}\\s+failed\\s+3\\s`, "s"));
    expect(run.stderr).toContain("oops\n");
    expect(run.stderr.trimEnd().split("\n").at(-1)).toBe("tetherctl: 1 of 1 execution did not succeed");
  });

  it("--wait on several devices shows progress lines on stderr (not a terminal) and a table of all", async () => {
    const run = await ctl(["run", "--device", deviceId, "--device", otherId, "--env", "N=7", "--wait", "--", 'test "$N" = 7']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      [deviceId, "succeeded", "0"],
      [otherId, "succeeded", "0"],
    ]);
    expect(run.stderr).toMatch(/^run_\S+: 2\/2 done, 0 failed$/m);
  });

  it("without --wait prints the run id and the number of executions", async () => {
    const launch = await ctlJson<LaunchResult>(["run", "--device", deviceId, "--", "true"]);
    expect(launch.runId).toMatch(/^run_/);
    expect(launch.executions).toHaveLength(1);
    const human = await ctl(["run", "--device", deviceId, "--os", "linux", "--", "true"]);
    expect(human).toMatchObject({ code: 0, stderr: "" });
    expect(human.stdout).toMatch(/^Started run run_\S+: 1 execution\n$/);
  });
});

describe("tetherctl commands", () => {
  it("create with a trigger, env and an attachment, then run it by name with --wait --json", async () => {
    const local = join(work, "motd.txt");
    writeFileSync(local, "attached content\n");
    const dest = join(work, "placed", "motd.txt");
    const create = await ctl([
      "commands", "create", "ctl-greet",
      "--os", "linux",
      "--script", `echo "hi $WHO"; cat ${dest}`,
      "--env", "WHO=tether",
      "--device", deviceId,
      "--trigger", "ctl-greet-now",
      "--attach", `${local}:${dest}`,
      "--description", "says hi",
    ]);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout).toMatch(/^Created command ctl-greet \(cmd_\S+\): trigger ctl-greet-now, 1 device, 0 groups\n$/);

    const result = await ctlJson<Waited>(["commands", "run", "ctl-greet", "--wait"]);
    expect(result.finished).toBe(true);
    expect(result.executions).toHaveLength(1);
    expect(result.executions[0]).toMatchObject({ status: "succeeded", exitCode: 0, deviceId, commandName: "ctl-greet", stdout: "hi tether\nattached content\n" });
  });

  it("list --json and get show the command and its script", async () => {
    const page = await ctlJson<Page<Command>>(["commands", "list"]);
    const saved = page.results.find((c) => c.name === "ctl-greet");
    expect(saved).toMatchObject({ os: "linux", shell: "bash", launch: { type: "trigger", name: "ctl-greet-now" }, env: { WHO: "tether" }, targets: { devices: [deviceId] } });
    expect(saved!.files).toHaveLength(1);

    const get = await ctl(["commands", "get", "ctl-greet"]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/^Launch:\s+trigger ctl-greet-now$/m);
    expect(get.stdout).toMatch(/^Env:\s+WHO=tether$/m);
    expect(get.stdout).toMatch(/--- script ---\necho "hi \$WHO"; cat \S+\n$/);
  });

  it("update changes only what is given; run --group narrows to the group's members", async () => {
    const update = await ctl(["commands", "update", "ctl-greet", "--env", "WHO=world", "--device", otherId, "--device", deviceId]);
    expect(update.code, update.stderr).toBe(0);
    const updated = await ctlJson<Command>(["commands", "get", "ctl-greet"]);
    expect(updated).toMatchObject({ env: { WHO: "world" }, launch: { type: "trigger", name: "ctl-greet-now" }, description: "says hi" });
    expect([...updated.targets.devices].sort()).toEqual([deviceId, otherId]);

    const group = await cp.api("POST", "/api/v1/device-groups", { name: "ctl-one" });
    expect(group.status).toBe(201);
    expect((await cp.api("POST", `/api/v1/device-groups/${group.body.id}/members`, { deviceIds: [otherId] })).status).toBe(200);
    const result = await ctlJson<Waited>(["commands", "run", "ctl-greet", "--group", "ctl-one", "--wait"]);
    expect(result.executions.map((e) => [e.deviceId, e.status])).toEqual([[otherId, "succeeded"]]);
    expect(result.executions[0]!.stdout).toMatch(/^hi world\n/);
  });

  it("a device that is not a target is refused by the server (exit 1, one line)", async () => {
    const other = await ctl(["commands", "create", "ctl-only-one", "--os", "linux", "--script", "true", "--device", deviceId]);
    expect(other.code, other.stderr).toBe(0);
    const run = await ctl(["commands", "run", "ctl-only-one", "--device", otherId]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`tetherctl: not a target of this command: ${otherId} (validation_failed)\n`);
    const deleted = await ctl(["commands", "delete", "ctl-only-one"]);
    expect(deleted).toMatchObject({ code: 0, stdout: "Deleted command ctl-only-one\n" });
  });
});

describe("tetherctl results", () => {
  it("list --json contains the runs, filtered by run and by command", async () => {
    const launch = await ctlJson<Waited>(["commands", "run", "ctl-greet", "--wait"]);
    const byRun = await ctlJson<Page<Execution>>(["results", "list", "--run", launch.runId]);
    expect(byRun.results.map((e) => e.id).sort()).toEqual(launch.executions.map((e) => e.id).sort());
    expect(byRun.results.every((e) => e.status === "succeeded")).toBe(true);

    const byCommand = await ctlJson<Page<Execution>>(["results", "list", "--command", "ctl-greet", "--limit", "1000"]);
    expect(byCommand.results.every((e) => e.commandName === "ctl-greet")).toBe(true);
    expect(byCommand.results.map((e) => e.runId)).toContain(launch.runId);

    const failed = await ctlJson<Page<Execution>>(["results", "list", "--status", "failed", "--device", deviceId]);
    expect(failed.results.length).toBeGreaterThanOrEqual(1);
    expect(failed.results.every((e) => e.status === "failed" && e.deviceId === deviceId)).toBe(true);

    const table = await ctl(["results", "list", "--run", launch.runId]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+COMMAND\s+DEVICE\s+STATUS\s+EXIT\s+REQUESTED\s+DURATION$/);
  });

  it("get shows every field and the output", async () => {
    const [latest] = (await ctlJson<Page<Execution>>(["results", "list", "--command", "ctl-greet", "--limit", "1"])).results;
    const get = await ctl(["results", "get", latest!.id]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(new RegExp(`^ID:\\s+${latest!.id}$`, "m"));
    expect(get.stdout).toMatch(/^Status:\s+succeeded$/m);
    expect(get.stdout).toMatch(/--- stdout ---\nhi world\nattached content\n\n--- stderr \(empty\) ---\n$/);
  });

  it("--timeout-wait gives up (exit 1) while the script goes on; cancel then kills it", async () => {
    const run = await ctl(["run", "--device", deviceId, "--wait", "--timeout-wait", "1s", "--json", "--", "sleep 60"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tetherctl: stopped waiting: 1 of 1 executions not finished yet/);
    const waited = JSON.parse(run.stdout) as Waited;
    expect(waited.finished).toBe(false);
    const id = waited.executions[0]!.id;

    await waitFor(async () => (await cp.api("GET", `/api/v1/command-results/${id}`)).body.status === "running", { message: "sleep running" });
    const cancel = await ctl(["results", "cancel", id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toBe(`Asked the agent to stop ${id} (running); it will be reported as canceled\n`);
    await waitFor(async () => (await cp.api("GET", `/api/v1/command-results/${id}`)).body.status === "canceled", { message: "canceled" });

    const again = await ctl(["results", "cancel", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^tetherctl: the execution is already canceled/);
  });
});

describe("usage errors", () => {
  it.each([
    [["commands", "create", "x", "--os", "linux", "--script", "true", "--trigger", "t", "--schedule", "* * * * *"], /only one of --schedule, --at, --trigger and --manual/],
    [["commands", "create", "x", "--os", "linux", "--script", "true", "--env", "9LIVES=x"], /"9LIVES" is not a valid variable name/],
    [["commands", "create", "x", "--os", "linux", "--script", "true", "--attach", "nofile"], /LOCAL_PATH:DEST_PATH/],
    [["commands", "create", "x", "--os", "linux", "--script", "true", "--attach", "/no/such/file:/tmp/x"], /cannot read \/no\/such\/file for --attach: ENOENT/],
    [["commands", "update", "ctl-greet"], /nothing to update/],
    [["run", "--device", "dev_x", "--wait"], /--script TEXT or --file PATH/],
    [["run", "--", "echo hi"], /at least one --device or --group/],
    [["results", "list", "--status", "finished"], /Allowed choices are/],
  ])("%j exits 2 with one line", async (args, pattern) => {
    const run = await ctl(args);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
  });
});
