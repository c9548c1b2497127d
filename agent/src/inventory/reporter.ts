import type { Logger } from "pino";
import type { Inventory } from "../../../shared/src/protocol/inventory.js";
import type { Welcome } from "../../../shared/src/protocol/messages.js";
import type { MessageSink } from "../connection/client.js";
import { inventoryDigest } from "./digest.js";

export interface InventoryReporterOptions {
  collect: () => Promise<Inventory>;
  logger: Logger;
  /** Used unless the control plane's welcome sets another interval. */
  intervalMs: number;
}

/**
 * Sends the inventory on every (re)connect, then re-collects on a timer and sends only when it
 * changed: a fleet of unchanged machines costs the server nothing between connects.
 */
export class InventoryReporter {
  private timer: NodeJS.Timeout | undefined;
  private lastSent: string | undefined;
  private sink: MessageSink | undefined;

  constructor(private readonly options: InventoryReporterOptions) {}

  onWelcome(welcome: Welcome, sink: MessageSink): void {
    this.sink = sink;
    this.lastSent = undefined;
    clearInterval(this.timer);
    const intervalMs = welcome.inventoryIntervalSeconds ? welcome.inventoryIntervalSeconds * 1000 : this.options.intervalMs;
    this.timer = setInterval(() => void this.report(), intervalMs);
    this.timer.unref();
    void this.report();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async report(): Promise<void> {
    let inventory: Inventory;
    try {
      inventory = await this.options.collect();
    } catch (error) {
      this.options.logger.warn({ err: error }, "inventory collection failed");
      return;
    }
    const digest = inventoryDigest(inventory);
    if (digest === this.lastSent) return;
    if (this.sink?.send({ type: "inventory", inventory })) {
      this.lastSent = digest;
      this.options.logger.debug({ digest }, "inventory sent");
    }
  }
}
