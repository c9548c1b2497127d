import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RequestContext } from "../../control-plane/src/domain/actor.js";
import { CreateCommandSchema, type Command, type Execution } from "../../control-plane/src/domain/command.js";
import type { Clock } from "../../control-plane/src/services/clock.js";
import { createServices, type Services } from "../../control-plane/src/services/index.js";
import { BlobStore } from "../../control-plane/src/store/blobs.js";
import { openDatabase, type Db } from "../../control-plane/src/store/db.js";
import { createStores, type Stores } from "../../control-plane/src/store/index.js";

/**
 * The CommandScheduler over a real in-memory database and real services, with time in the test's
 * hands: a manual clock whose timers fire only when the test advances it.
 */

class ManualClock implements Clock {
  private t: number;
  private timers: { at: number; fn: () => void; seq: number }[] = [];
  private seq = 0;

  constructor(start: string) {
    this.t = Date.parse(start);
  }

  now(): Date {
    return new Date(this.t);
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + Math.max(0, ms), fn, seq: this.seq++ };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward, firing each due timer at its own moment, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }

  advanceTo(iso: string): void {
    const target = Date.parse(iso);
    if (target < this.t) throw new Error(`cannot go back in time to ${iso}`);
    this.advance(target - this.t);
  }

  /** A jump with no timer firing: the server was down meanwhile. */
  jumpTo(iso: string): void {
    this.t = Date.parse(iso);
  }

  get pending(): number {
    return this.timers.length;
  }
}

const MIN = 60_000;

interface Env {
  db: Db;
  stores: Stores;
  services: Services;
  clock: ManualClock;
  linux: string;
  darwin: string;
  blobDir: string;
}

let env: Env;

function setUp(start: string): Env {
  const db = openDatabase(":memory:");
  const stores = createStores(db);
  const clock = new ManualClock(start);
  const blobDir = mkdtempSync(join(tmpdir(), "tether-scheduler-"));
  const services = createServices(stores, {
    signer: {
      caChainPem: "",
      signDevice: () => {
        throw new Error("not used");
      },
    },
    presence: { isConnected: () => false, disconnect: () => undefined },
    // Nothing is connected: executions stay queued, which is all these tests look at.
    channel: { canReceive: () => false, send: () => false },
    identity: () => ({ publicUrl: "https://tether.test", caFingerprint: null }),
    blobs: new BlobStore(blobDir),
    clock,
    logger: pino({ level: "silent" }),
  });
  const device = (id: string, os: string) =>
    stores.devices.insert({
      id,
      displayName: id,
      hostname: id,
      os,
      enrolledAt: clock.now().toISOString(),
      connectKeyId: "ck_none",
      certSerial: `serial-${id}`,
      certNotAfter: "2099-01-01T00:00:00.000Z",
    }).id;
  return { db, stores, services, clock, linux: device("dev_linux00000001", "linux"), darwin: device("dev_darwin0000001", "darwin"), blobDir };
}

afterEach(() => {
  env?.services.scheduler.stop();
  env?.db.close();
  if (env) rmSync(env.blobDir, { recursive: true, force: true });
});

const ctx = (): RequestContext => ({ actor: { type: "system", id: null }, remoteAddr: null, now: env.clock.now() });

function createCommand(name: string, launch: Record<string, unknown>): Command {
  return env.services.commands.create(
    ctx(),
    CreateCommandSchema.parse({ name, script: "echo hi", os: "linux", launch, targets: { devices: [env.linux, env.darwin] } }),
  );
}

/** Executions of this command, oldest first. */
function executionsOf(commandId: string): Execution[] {
  return env.stores.executions
    .list({ limit: 1000, skip: 0, sort: [{ field: "requestedAt", descending: false }], filters: [{ field: "commandId", op: "eq", value: commandId }] })
    .results;
}

const requestedTimes = (commandId: string) => executionsOf(commandId).map((e) => e.requestedAt);

describe("CommandScheduler", () => {
  describe("cron schedules", () => {
    beforeEach(() => {
      env = setUp("2026-03-02T12:03:00.000Z");
    });

    it("fires */5 at the next slot and again 5 minutes later, for the targets on the command's OS", () => {
      env.services.scheduler.start();
      const command = createCommand("every-five", { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" });
      expect(executionsOf(command.id)).toHaveLength(0);

      env.clock.advanceTo("2026-03-02T12:04:59.999Z");
      expect(executionsOf(command.id)).toHaveLength(0);

      env.clock.advance(1);
      const first = executionsOf(command.id);
      // Only the linux target: the darwin device runs another OS than the command.
      expect(first.map((e) => e.deviceId)).toEqual([env.linux]);
      expect(first[0]).toMatchObject({ status: "queued", requestedAt: "2026-03-02T12:05:00.000Z", commandName: "every-five", requestedBy: null });

      env.clock.advanceTo("2026-03-02T12:09:59.000Z");
      expect(executionsOf(command.id)).toHaveLength(1);
      env.clock.advanceTo("2026-03-02T12:10:00.000Z");
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T12:05:00.000Z", "2026-03-02T12:10:00.000Z"]);

      // Each fire also records the slot, so a restart does not run it again.
      expect(env.stores.commands.timed().find((t) => t.command.id === command.id)?.lastScheduledAt).toBe("2026-03-02T12:10:00.000Z");
    });

    it("runs a schedule missed while down exactly once at start, then keeps its rhythm", () => {
      const command = createCommand("missed", { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" });
      env.services.scheduler.stop();
      // Down for three hours: 36 slots pass with no timer running.
      env.stores.commands.setLastScheduled(command.id, "2026-03-02T09:00:00.000Z");
      env.clock.jumpTo("2026-03-02T15:03:30.000Z");
      expect(executionsOf(command.id)).toHaveLength(0);

      env.services.scheduler.start();
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T15:03:30.000Z"]);

      // A second start (e.g. another restart right away) finds nothing missed.
      env.services.scheduler.stop();
      env.services.scheduler.start();
      expect(executionsOf(command.id)).toHaveLength(1);

      env.clock.advanceTo("2026-03-02T15:04:59.000Z");
      expect(executionsOf(command.id)).toHaveLength(1);
      env.clock.advanceTo("2026-03-02T15:05:00.000Z");
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T15:03:30.000Z", "2026-03-02T15:05:00.000Z"]);
    });

    it("does not run a schedule at start when no slot passed since its last run", () => {
      const command = createCommand("nothing-missed", { type: "schedule", cron: "0 * * * *", timezone: "UTC" });
      env.services.scheduler.stop();
      env.stores.commands.setLastScheduled(command.id, "2026-03-02T12:00:00.000Z");
      env.clock.jumpTo("2026-03-02T12:59:00.000Z");
      env.services.scheduler.start();
      expect(executionsOf(command.id)).toHaveLength(0);
      env.clock.advanceTo("2026-03-02T13:00:00.000Z");
      expect(executionsOf(command.id)).toHaveLength(1);
    });

    it("re-arms when the schedule is edited, without running for slots before the edit", () => {
      env.services.scheduler.start();
      // Saved as manual two hours before it gets a schedule: those two hours are not "missed" slots.
      const command = createCommand("edited", { type: "manual" });
      env.clock.advanceTo("2026-03-02T14:03:00.000Z");
      expect(env.clock.pending).toBe(0);

      env.services.commands.update(ctx(), command.id, { launch: { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" } });
      expect(executionsOf(command.id)).toHaveLength(0);
      env.clock.advanceTo("2026-03-02T14:05:00.000Z");
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T14:05:00.000Z"]);

      // Hourly now: the next 5-minute slot passes without a run, the hour fires.
      env.services.commands.update(ctx(), command.id, { launch: { type: "schedule", cron: "0 * * * *", timezone: "UTC" } });
      env.clock.advanceTo("2026-03-02T14:59:59.000Z");
      expect(executionsOf(command.id)).toHaveLength(1);
      env.clock.advanceTo("2026-03-02T15:00:00.000Z");
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T14:05:00.000Z", "2026-03-02T15:00:00.000Z"]);

      // Back to manual: no timer is left.
      env.services.commands.update(ctx(), command.id, { launch: { type: "manual" } });
      expect(env.clock.pending).toBe(0);
      env.clock.advance(24 * 60 * MIN);
      expect(executionsOf(command.id)).toHaveLength(2);
    });

    it("editing another field keeps the rhythm: no extra run, next slot still fires", () => {
      env.services.scheduler.start();
      const command = createCommand("rhythm", { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" });
      env.clock.advanceTo("2026-03-02T12:05:00.000Z");
      env.clock.advanceTo("2026-03-02T12:07:00.000Z");
      env.services.commands.update(ctx(), command.id, { script: "echo changed" });
      expect(executionsOf(command.id)).toHaveLength(1);
      env.clock.advanceTo("2026-03-02T12:10:00.000Z");
      const runs = executionsOf(command.id);
      expect(runs).toHaveLength(2);
      expect(env.stores.executions.get(runs[1]!.id)).toBeDefined();
      expect(env.clock.pending).toBe(1);
    });

    it("stops when the command is deleted", () => {
      env.services.scheduler.start();
      const command = createCommand("deleted", { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" });
      env.clock.advanceTo("2026-03-02T12:05:00.000Z");
      expect(executionsOf(command.id)).toHaveLength(1);
      expect(env.clock.pending).toBe(1);

      env.services.commands.delete(ctx(), command.id);
      expect(env.clock.pending).toBe(0);
      env.clock.advance(60 * MIN);
      expect(executionsOf(command.id)).toHaveLength(1);
    });

    it("keeps no timers after stop()", () => {
      env.services.scheduler.start();
      createCommand("a", { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" });
      createCommand("b", { type: "schedule", cron: "0 0 * * *", timezone: "UTC" });
      createCommand("c", { type: "manual" });
      expect(env.clock.pending).toBe(2);
      env.services.scheduler.stop();
      expect(env.clock.pending).toBe(0);
    });
  });

  describe("one-time launches", () => {
    beforeEach(() => {
      env = setUp("2026-03-02T12:00:00.000Z");
    });

    it("fires a future one once, at its moment, and never again", () => {
      env.services.scheduler.start();
      const command = createCommand("once-future", { type: "once", at: "2026-03-02T12:10:00.000Z" });
      env.clock.advanceTo("2026-03-02T12:09:59.999Z");
      expect(executionsOf(command.id)).toHaveLength(0);
      env.clock.advance(1);
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T12:10:00.000Z"]);
      expect(env.clock.pending).toBe(0);

      env.clock.advance(7 * 24 * 60 * MIN);
      env.services.scheduler.stop();
      env.services.scheduler.start();
      expect(executionsOf(command.id)).toHaveLength(1);
    });

    it("runs one whose moment passed while the server was down once at start", () => {
      const command = createCommand("once-missed", { type: "once", at: "2026-03-02T13:00:00.000Z" });
      env.services.scheduler.stop();
      env.clock.jumpTo("2026-03-02T16:00:00.000Z");
      env.services.scheduler.start();
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T16:00:00.000Z"]);

      env.services.scheduler.stop();
      env.services.scheduler.start();
      env.clock.advance(60 * MIN);
      expect(executionsOf(command.id)).toHaveLength(1);
    });

    it("runs one whose moment is already past and that never ran, once", () => {
      env.services.scheduler.start();
      const command = createCommand("once-past", { type: "once", at: "2026-03-02T11:00:00.000Z" });
      expect(requestedTimes(command.id)).toEqual(["2026-03-02T12:00:00.000Z"]);
      env.services.scheduler.stop();
      env.services.scheduler.start();
      env.clock.advance(60 * MIN);
      expect(executionsOf(command.id)).toHaveLength(1);
    });
  });

  describe("time zones", () => {
    it("fires 0 9 * * * in America/New_York at 13:00 UTC in summer (EDT)", () => {
      env = setUp("2026-07-01T00:00:00.000Z");
      env.services.scheduler.start();
      const command = createCommand("ny-summer", { type: "schedule", cron: "0 9 * * *", timezone: "America/New_York" });
      env.clock.advanceTo("2026-07-01T12:59:59.000Z");
      expect(executionsOf(command.id)).toHaveLength(0);
      env.clock.advanceTo("2026-07-01T13:00:00.000Z");
      expect(requestedTimes(command.id)).toEqual(["2026-07-01T13:00:00.000Z"]);
    });

    it("fires at 14:00 UTC in winter (EST), and follows the switch to DST", () => {
      env = setUp("2026-03-07T00:00:00.000Z");
      env.services.scheduler.start();
      const command = createCommand("ny-dst", { type: "schedule", cron: "0 9 * * *", timezone: "America/New_York" });
      env.clock.advanceTo("2026-03-07T13:59:59.000Z");
      expect(executionsOf(command.id)).toHaveLength(0);
      // DST starts in New York on Sunday 8 March 2026: 9:00 local moves from 14:00 to 13:00 UTC.
      env.clock.advanceTo("2026-03-09T00:00:00.000Z");
      expect(requestedTimes(command.id)).toEqual(["2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z"]);
    });
  });
});
