import { Cron } from "croner";
import type { Logger } from "pino";
import { systemContext } from "../domain/actor.js";
import type { Command } from "../domain/command.js";
import type { Stores } from "../store/index.js";
import type { Clock } from "./clock.js";
import type { CommandService, ScheduleListener } from "./commands.js";

/**
 * Launches commands whose launch is a cron schedule or a one-time moment. The last scheduled time is
 * stored, so a run missed while the server was down happens once at start-up — not once per missed
 * slot. croner parses the expressions and computes the times; timers come from the injected clock.
 */
export class CommandScheduler implements ScheduleListener {
  private readonly timers = new Map<string, () => void>();

  constructor(
    private readonly stores: Stores,
    private readonly commands: CommandService,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    for (const { command } of this.stores.commands.timed()) this.arm(command.id);
  }

  stop(): void {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  changed(commandId: string): void {
    this.arm(commandId);
  }

  private arm(commandId: string): void {
    this.timers.get(commandId)?.();
    this.timers.delete(commandId);
    const entry = this.stores.commands.timed().find((t) => t.command.id === commandId);
    if (!entry) return;
    const { command, lastScheduledAt } = entry;
    const now = this.clock.now();
    const since = this.dueSince(command, lastScheduledAt);
    const missed = this.latestDue(command, since, now);
    if (missed) {
      // Everything up to now counts as done: however many slots were missed, the command runs once.
      this.launch(command, missed, now);
      return this.arm(commandId);
    }
    const next = this.nextAfter(command, now);
    if (!next) return;
    this.timers.set(
      commandId,
      this.clock.setTimer(() => {
        this.timers.delete(commandId);
        this.arm(commandId);
      }, next.getTime() - now.getTime()),
    );
  }

  /**
   * Slots after this moment are due. A one-time launch that never ran is due whenever its moment has
   * passed (even if that was before it was saved). A schedule counts from its last run, but never
   * from before the command's last edit: slots before an edit (say, of a command saved as manual long
   * ago) were not missed, the server was up and they were not this schedule's.
   */
  private dueSince(command: Command, lastScheduledAt: string | null): Date {
    if (command.launch.type === "once") return new Date(lastScheduledAt ?? 0);
    return new Date(Math.max(Date.parse(lastScheduledAt ?? command.createdAt), Date.parse(command.updatedAt)));
  }

  /** The latest scheduled moment in (since, now], if any. */
  private latestDue(command: Command, since: Date, now: Date): Date | undefined {
    const launch = command.launch;
    if (launch.type === "once") {
      const at = new Date(launch.at);
      return at > since && at <= now ? at : undefined;
    }
    if (launch.type !== "schedule") return undefined;
    const cron = new Cron(launch.cron, { timezone: launch.timezone, paused: true });
    const first = cron.nextRun(since);
    if (!first || first > now) return undefined;
    // The latest slot is only for the log; bound the walk for very frequent schedules.
    let latest = first;
    for (let i = 0, next = cron.nextRun(first); next && next <= now && i < 10_000; i++, next = cron.nextRun(next)) latest = next;
    return latest;
  }

  private nextAfter(command: Command, now: Date): Date | undefined {
    const launch = command.launch;
    if (launch.type === "once") {
      const at = new Date(launch.at);
      return at > now ? at : undefined;
    }
    if (launch.type !== "schedule") return undefined;
    return new Cron(launch.cron, { timezone: launch.timezone, paused: true }).nextRun(now) ?? undefined;
  }

  private launch(command: Command, scheduledAt: Date, now: Date): void {
    this.stores.commands.setLastScheduled(command.id, now.toISOString());
    try {
      const result = this.commands.run(systemContext(now), command.id);
      this.logger.info({ commandId: command.id, scheduledAt, executions: result.executions.length }, "scheduled command launched");
    } catch (error) {
      this.logger.error({ commandId: command.id, err: error }, "scheduled command could not be launched");
    }
  }
}
