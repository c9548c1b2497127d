// System images and clones, end to end: real agents installed (from this checkout) into scratch roots,
// each "machine" a private mount namespace whose /etc/machine-id is bind-mounted from that machine's
// copy, against a real control plane.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { enrollRaw, hello, openRaw } from "../helpers/raw-agent.js";
import { waitFor } from "../helpers/wait.js";
import { runnerEnv } from "../helpers/child.js";

const CLI = join(REPO_ROOT, "agent/src/cli.ts");

interface Machine {
  /** The machine's disk: the install root. */
  root: string;
  /** Its /etc/machine-id (ROOT/etc/machine-id, bind-mounted over the host's). */
  machineId: string;
}

interface RunningAgent {
  process: ChildProcess;
  logs(): string;
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => running.forEach((child) => child.kill("SIGKILL")));

/** The installed agent's paths inside a machine's root; the state dir is kept inside it too. */
const paths = (machine: Machine) => ({
  binary: join(machine.root, "usr/local/bin/tether-agent"),
  config: join(machine.root, "etc/tether-agent/agent.json"),
  stateDir: join(machine.root, "var/lib/tether-agent"),
});

/** Runs a command as if on `machine`: in a mount namespace that sees the machine's machine-id. */
function onMachine(machine: Machine, file: string, args: string[]): ChildProcess {
    const script = 'mount --bind "$MID" /etc/machine-id && exec "$@"';
  return spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", file, ...args], {
    env: { ...runnerEnv(), MID: join(machine.root, "etc/machine-id") },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts the machine's installed agent (`tether-agent run`), reading its agent.json. */
function runInstalled(machine: Machine): RunningAgent {
  const p = paths(machine);
  const child = onMachine(machine, p.binary, ["run", "--config", p.config, "--state-dir", p.stateDir, "--log-level", "debug"]);
  running.add(child);
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = once(child, "exit").then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return {
    process: child,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** A one-shot agent command on `machine`, e.g. status or reset-identity. */
async function agentCommand(machine: Machine, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = onMachine(machine, process.execPath, ["--import", "tsx", CLI, ...args]);
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

async function identityOf(machine: Machine): Promise<{ deviceId: string; clonedFrom?: string } | undefined> {
  const file = join(paths(machine).stateDir, "identity.json");
  return existsSync(file) ? (JSON.parse(await readFile(file, "utf8")) as { deviceId: string; clonedFrom?: string }) : undefined;
}

describe("system images and clones", () => {
  let cp: TestControlPlane;
  let work: string;
  const agents: RunningAgent[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ env: { TETHER_HEARTBEAT_INTERVAL: "2s" } });
    work = await mkdtemp(join(tmpdir(), "tether-image-clone-"));
    // Each machine's id is bind-mounted over this file, which must therefore exist (it does wherever systemd is).
    expect(existsSync("/etc/machine-id")).toBe(true);
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await cp.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  /** A new machine: an install root with its own machine-id. */
  async function newMachine(name: string, machineId: string): Promise<Machine> {
    const machine: Machine = { root: join(work, name), machineId };
    await mkdir(join(machine.root, "etc"), { recursive: true });
    await writeFile(join(machine.root, "etc/machine-id"), `${machineId}\n`);
    return machine;
  }

  /** Copies a machine's disk (binary, config, state) to a new machine with another machine-id. */
  async function cloneMachine(from: Machine, name: string, machineId: string): Promise<Machine> {
    const machine: Machine = { root: join(work, name), machineId };
    await execa("cp", ["-a", from.root, machine.root]);
    await writeFile(join(machine.root, "etc/machine-id"), `${machineId}\n`);
    return machine;
  }

  const install = (machine: Machine, args: string[]) =>
    agentCommand(machine, ["install", "--root", machine.root, "--no-start", ...args]);

  const device = async (id: string) => (await cp.api("GET", `/api/v1/devices/${id}`)).body;
  const online = (id: string, agent: RunningAgent) =>
    waitFor(async () => (await device(id)).status === "online", { timeoutMs: 30_000, message: `${id} online; agent log:\n${agent.logs()}` });
  const enrolled = (machine: Machine, agent: RunningAgent) =>
    waitFor(() => identityOf(machine), { timeoutMs: 30_000, message: `enrollment; agent log:\n${agent.logs()}` });

  it("a clone of an enrolled machine is refused, re-enrolls as a new device by itself, and the original keeps working", async () => {
    const original = await newMachine("original", "aa".repeat(16));
    expect((await install(original, ["--connect-key", cp.connectKey, "--display-name", "original"])).code).toBe(0);
    const first = runInstalled(original);
    agents.push(first);
    const { deviceId } = (await enrolled(original, first))!;
    await online(deviceId, first);

    // The disk is copied, identity and all, while the original runs; the copy boots with another machine id.
    const clone = await cloneMachine(original, "clone", "0123456789abcdef0123456789abcdef");
    const second = runInstalled(clone);
    agents.push(second);

    const fresh = await waitFor(async () => {
      const identity = await identityOf(clone);
      return identity && identity.deviceId !== deviceId ? identity : false;
    }, { timeoutMs: 30_000, message: `the clone's own enrollment; clone log:\n${second.logs()}` });
    expect(fresh.clonedFrom).toBe(deviceId);
    await online(fresh.deviceId, second);
    expect(second.logs()).toContain("enrolling this machine as a new device");

    // Both online; the original is flagged and its history says what happened.
    const originalDevice = await device(deviceId);
    expect(originalDevice.status).toBe("online");
    expect(originalDevice.cloneSuspectedAt).not.toBeNull();
    const listed = (await cp.api("GET", "/api/v1/devices?filter=status:eq:online")).body.results.map((d: { id: string }) => d.id);
    expect(listed).toEqual(expect.arrayContaining([deviceId, fresh.deviceId]));
    const history = async (action: string) =>
      (await cp.api("GET", `/api/v1/events?filter=action:eq:${action}&filter=objectId:eq:${deviceId}`)).body.results;
    const [detected] = await history("device.clone-detected");
    expect(detected.details).toMatchObject({
      known: { machineId: "aa".repeat(16) },
      presented: { machineId: "0123456789abcdef0123456789abcdef" },
      originalConnected: true,
    });
    const reenrolled = await waitFor(async () => (await history("device.clone-reenrolled"))[0], { message: "device.clone-reenrolled" });
    expect(reenrolled.details).toMatchObject({ newDeviceId: fresh.deviceId, machine: { machineId: "0123456789abcdef0123456789abcdef" } });

    // The clone's new device is the same kind of device as the original: its name and settings come from agent.json.
    expect((await device(fresh.deviceId)).displayName).toBe("original");
    expect(first.process.exitCode).toBeNull();
    expect(second.process.exitCode).toBeNull();
    expect(first.logs()).not.toContain("another agent process connected");
    await Promise.all([first.stop(), second.stop()]);
  });

  it("records a re-enrolled clone only when the claim holds up: the named device was flagged, on another machine", async () => {
    const original = await enrollRaw(cp, "unflagged");
    const session = await openRaw(cp, original);
    session.send(hello(original.deviceId, { machine: { machineId: "c".repeat(32), macs: [] } }));
    await session.next("welcome");
    session.ws.close();

    // A new device claiming to replace a clone of a device that was never flagged: accepted, nothing recorded.
    const claimant = await enrollRaw(cp, "claimant");
    const claim = await openRaw(cp, claimant);
    claim.send(hello(claimant.deviceId, { clonedFrom: original.deviceId, machine: { machineId: "d".repeat(32), macs: [] } }));
    await claim.next("welcome");
    claim.ws.close();
    const events = (await cp.api("GET", `/api/v1/events?filter=action:eq:device.clone-reenrolled&filter=objectId:eq:${original.deviceId}`)).body;
    expect(events.totalCount).toBe(0);
  });

  describe("image mode", () => {
    let golden: Machine;
    let made: Machine[];
    let before: number;
    const state = async (machine: Machine) => JSON.parse(await readFile(join(paths(machine).stateDir, "status.json"), "utf8")).state;

    it("install --image: on the image's own machine the agent enrolls nowhere, waits and says why", async () => {
      golden = await newMachine("golden", "99".repeat(16));
      before = (await cp.api("GET", "/api/v1/devices")).body.totalCount;
      const installed = await install(golden, ["--image", "--connect-key", cp.connectKey]);
      expect(installed.code, installed.output).toBe(0);
      expect(JSON.parse(await readFile(paths(golden).config, "utf8")).image.sourceMachine.machineId).toBe("99".repeat(16));

      const idle = runInstalled(golden);
      agents.push(idle);
      await waitFor(async () => (await state(golden)) === "waiting", { timeoutMs: 30_000, message: `waiting; log:\n${idle.logs()}` });
      const status = await agentCommand(golden, ["status", "--json", "--config", paths(golden).config, "--state-dir", paths(golden).stateDir]);
      expect(JSON.parse(status.output)).toMatchObject({ enrolled: false, state: "waiting", detail: expect.stringMatching(/image mode/) });
      expect(await idle.stop()).toBe(0);
      expect((await cp.api("GET", "/api/v1/devices")).body.totalCount).toBe(before);
    });

    it("each machine made from the image enrolls as its own device at its first start", async () => {
      made = await Promise.all([cloneMachine(golden, "made-1", "11".repeat(16)), cloneMachine(golden, "made-2", "22".repeat(16))]);
      const started = made.map((machine) => runInstalled(machine));
      agents.push(...started);
      const ids = await Promise.all(made.map(async (machine, i) => (await enrolled(machine, started[i]!))!.deviceId));
      expect(new Set(ids).size).toBe(2);
      await Promise.all(ids.map((id, i) => online(id, started[i]!)));
      expect((await cp.api("GET", "/api/v1/devices")).body.totalCount).toBe(before + 2);
      await Promise.all(started.map((a) => a.stop()));
    });

    it("reset-identity --image prepares an enrolled machine for capture: it forgets its device and waits", async () => {
      const machine = made[0]!;
      const reset = await agentCommand(machine, ["reset-identity", "--image", "--config", paths(machine).config, "--state-dir", paths(machine).stateDir]);
      expect(reset.code, reset.output).toBe(0);
      expect(await identityOf(machine)).toBeUndefined();
      expect(existsSync(join(paths(machine).stateDir, "status.json"))).toBe(false);
      expect(JSON.parse(await readFile(paths(machine).config, "utf8")).image.sourceMachine.machineId).toBe("11".repeat(16));
      const again = runInstalled(machine);
      agents.push(again);
      await waitFor(async () => (await state(machine)) === "waiting", { timeoutMs: 30_000, message: `waiting after reset-identity --image; log:\n${again.logs()}` });
      await again.stop();
    });

    it("install again, with nothing new (SetupComplete.cmd, cloud-init), ends image mode: the machine enrolls now", async () => {
      const rerun = await install(golden, []);
      expect(rerun.code, rerun.output).toBe(0);
      expect(JSON.parse(await readFile(paths(golden).config, "utf8")).image).toBeUndefined();
      const now = runInstalled(golden);
      agents.push(now);
      const { deviceId } = (await enrolled(golden, now))!;
      await online(deviceId, now);
      await now.stop();
    });
  });
});
