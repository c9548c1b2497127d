import { CloseCode } from "../../../shared/src/protocol/close-codes.js";
import type { RequestContext } from "../domain/actor.js";
import type { Device, DeviceWithInventory } from "../domain/device.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { NotFoundError } from "../errors.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import type { AgentPresence } from "./ports.js";

export class DeviceService {
  constructor(
    private readonly stores: Stores,
    private readonly presence: AgentPresence,
  ) {}

  list(query: ListQuery): Page<Device> {
    return this.stores.devices.list(query);
  }

  get(id: string): DeviceWithInventory {
    const device = this.stores.devices.getWithInventory(id);
    if (!device) throw new NotFoundError("device", id);
    return device;
  }

  update(ctx: RequestContext, id: string, changes: { displayName?: string | undefined }): DeviceWithInventory {
    this.stores.transaction(() => {
      const before = this.get(id);
      if (changes.displayName !== undefined && changes.displayName !== before.displayName) {
        this.stores.devices.setDisplayName(id, changes.displayName);
        audit(this.stores.events, ctx, {
          action: "device.updated",
          objectType: "device",
          objectId: id,
          details: { displayName: { from: before.displayName, to: changes.displayName } },
        });
      }
    });
    return this.get(id);
  }

  /**
   * Deletes the device and revokes its certificate. A connected agent is told at once (CloseCode
   * DeviceRevoked) so it stops, wipes its identity and, when installed as a service, uninstalls itself.
   */
  delete(ctx: RequestContext, id: string): void {
    this.stores.transaction(() => {
      const device = this.get(id);
      this.stores.devices.delete(id, ctx.now.toISOString());
      audit(this.stores.events, ctx, { action: "device.deleted", objectType: "device", objectId: id, details: { hostname: device.hostname } });
    });
    this.presence.disconnect(id, CloseCode.DeviceRevoked, "this device was deleted by an administrator");
  }
}
