import type { Logger } from "pino";
import type { ServerMessage } from "../../../shared/src/protocol/messages.js";
import { Capability } from "../../../shared/src/protocol/version.js";
import type { Stores } from "../store/index.js";
import type { AgentChannel } from "./ports.js";
import { TickBatch } from "./tick-batch.js";

/** Socket writes per event-loop turn when a fan-out sends to thousands of agents. */
const SENDS_PER_TURN = 500;

/**
 * Hands queued executions to connected agents, in order per device. An execution is marked `sent`
 * before it goes on the wire: if the socket dies in between, it is re-sent after the next welcome,
 * and the agent's journal turns the duplicate into a re-report, never a second run.
 *
 * Messages go out through one queue, in order, after the current turn: a REST request that starts a
 * run to 10,000 devices answers without waiting for 10,000 socket writes, and the writes run in
 * slices so agents' answers are read in between.
 */
export class Dispatcher {
  private readonly outbox: TickBatch<{ deviceId: string; message: ServerMessage }>;

  constructor(
    private readonly stores: Stores,
    private readonly channel: AgentChannel,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.outbox = new TickBatch((items) => {
      for (const { deviceId, message } of items) this.channel.send(deviceId, message);
    }, SENDS_PER_TURN);
  }

  /**
   * Sends what is due to each of these devices that is connected. The whole set is marked `sent` in
   * one transaction (a fan-out to 10,000 devices is one commit, not 10,000), and queued for the wire
   * once that committed.
   */
  kick(deviceIds: Iterable<string>): void {
    const connected = [...new Set(deviceIds)].filter((id) => this.channel.canReceive(id, Capability.Commands));
    if (connected.length === 0) return;
    const at = this.now().toISOString();
    const sent = this.stores.transaction(() => this.stores.executions.due(connected, at).filter((e) => this.stores.executions.markSent(e.id, at)));
    for (const execution of sent) this.outbox.add({ deviceId: execution.deviceId, message: { type: "exec.run", execution: execution.spec } });
  }

  /** After a (re)connect: re-send what the agent may not have received, then anything due. */
  welcomed(deviceId: string): void {
    if (!this.channel.canReceive(deviceId, Capability.Commands)) return;
    for (const execution of this.stores.executions.outstanding(deviceId)) {
      this.outbox.add({ deviceId, message: { type: "exec.run", execution: execution.spec } });
      if (execution.cancelRequested) this.outbox.add({ deviceId, message: { type: "exec.cancel", executionId: execution.id } });
    }
    this.kick([deviceId]);
  }

  cancel(deviceId: string, executionId: string): void {
    if (!this.channel.canReceive(deviceId, Capability.Commands)) return;
    this.outbox.add({ deviceId, message: { type: "exec.cancel", executionId } });
    this.logger.debug({ deviceId, executionId }, "cancel queued for the agent");
  }

  /** Marks executions whose queue time ran out as expired. */
  expire(): number {
    return this.stores.transaction(() => this.stores.executions.expire(this.now().toISOString())).length;
  }
}
