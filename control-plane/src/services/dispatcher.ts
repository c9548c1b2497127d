import type { Logger } from "pino";
import { Capability } from "../../../shared/src/protocol/version.js";
import type { Stores } from "../store/index.js";
import type { AgentChannel } from "./ports.js";

/**
 * Hands queued executions to connected agents, in order per device. An execution is marked `sent`
 * before it goes on the wire: if the socket dies in between, it is re-sent after the next welcome,
 * and the agent's journal turns the duplicate into a re-report, never a second run.
 */
export class Dispatcher {
  constructor(
    private readonly stores: Stores,
    private readonly channel: AgentChannel,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Sends what is due to each of these devices that is connected. */
  kick(deviceIds: Iterable<string>): void {
    for (const deviceId of deviceIds) {
      if (!this.channel.canReceive(deviceId, Capability.Commands)) continue;
      const at = this.now().toISOString();
      for (const execution of this.stores.executions.due(deviceId, at)) {
        if (!this.stores.executions.markSent(execution.id, at)) continue;
        this.channel.send(deviceId, { type: "exec.run", execution: execution.spec });
      }
    }
  }

  /** After a (re)connect: re-send what the agent may not have received, then anything due. */
  welcomed(deviceId: string): void {
    if (!this.channel.canReceive(deviceId, Capability.Commands)) return;
    for (const execution of this.stores.executions.outstanding(deviceId)) {
      this.channel.send(deviceId, { type: "exec.run", execution: execution.spec });
      if (execution.cancelRequested) this.channel.send(deviceId, { type: "exec.cancel", executionId: execution.id });
    }
    this.kick([deviceId]);
  }

  cancel(deviceId: string, executionId: string): void {
    if (this.channel.send(deviceId, { type: "exec.cancel", executionId })) {
      this.logger.debug({ deviceId, executionId }, "cancel sent");
    }
  }

  /** Marks executions whose queue time ran out as expired. */
  expire(): number {
    return this.stores.transaction(() => this.stores.executions.expire(this.now().toISOString())).length;
  }
}
