import type { RequestContext } from "../domain/actor.js";
import type { DeviceGroup } from "../domain/device-group.js";
import type { Device } from "../domain/device.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import { newId } from "../ids.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import type { DeviceGroupChangeListener } from "./ports.js";

export interface MembershipChange {
  group: DeviceGroup;
  /** How many of the given devices changed membership; the others already were (or were not) members. */
  changed: number;
}

export class DeviceGroupService {
  constructor(
    private readonly stores: Stores,
    /** Moves the desired-state revision of devices whose users change with their groups. */
    private readonly changes: DeviceGroupChangeListener,
  ) {}

  list(query: ListQuery): Page<DeviceGroup> {
    return this.stores.deviceGroups.list(query);
  }

  get(id: string): DeviceGroup {
    const group = this.stores.deviceGroups.get(id);
    if (!group) throw new NotFoundError("device group", id);
    return group;
  }

  create(ctx: RequestContext, input: { name: string; description: string }): DeviceGroup {
    return this.stores.transaction(() => {
      this.ensureNameFree(input.name);
      const group = this.stores.deviceGroups.insert({ id: newId("dg", ctx.now.getTime()), ...input, at: ctx.now.toISOString() });
      audit(this.stores.events, ctx, { action: "device-group.created", objectType: "device-group", objectId: group.id, details: { name: group.name } });
      return group;
    });
  }

  update(ctx: RequestContext, id: string, changes: { name?: string | undefined; description?: string | undefined }): DeviceGroup {
    return this.stores.transaction(() => {
      const before = this.get(id);
      if (changes.name !== undefined && changes.name.toLowerCase() !== before.name.toLowerCase()) this.ensureNameFree(changes.name);
      this.stores.deviceGroups.update(id, changes, ctx.now.toISOString());
      audit(this.stores.events, ctx, { action: "device-group.updated", objectType: "device-group", objectId: id, details: { ...changes } });
      return this.get(id);
    });
  }

  delete(ctx: RequestContext, id: string): void {
    this.stores.transaction(() => {
      const group = this.get(id);
      this.changes.deviceGroupDeleting(id);
      this.stores.deviceGroups.delete(id);
      audit(this.stores.events, ctx, { action: "device-group.deleted", objectType: "device-group", objectId: id, details: { name: group.name } });
    });
  }

  members(id: string, query: ListQuery): Page<Device> {
    this.get(id);
    return this.stores.deviceGroups.members(id, query);
  }

  /** Idempotent: adding a member twice changes nothing the second time. Unknown devices are a 400. */
  addMembers(ctx: RequestContext, id: string, deviceIds: string[]): MembershipChange {
    return this.stores.transaction(() => {
      this.get(id);
      const unique = [...new Set(deviceIds)];
      const known = this.stores.devices.existing(unique);
      const missing = unique.filter((d) => !known.has(d));
      if (missing.length > 0) {
        throw new ValidationError(
          `no such device: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`,
          missing.map((d) => ({ field: "deviceIds", reason: `no device with id "${d}"` })),
        );
      }
      this.changes.deviceGroupMembersChanging(id, unique, true);
      const changed = this.stores.deviceGroups.addMembers(id, unique, ctx.now.toISOString());
      if (changed > 0) {
        audit(this.stores.events, ctx, { action: "device-group.members-added", objectType: "device-group", objectId: id, details: { deviceIds: unique, added: changed } });
      }
      return { group: this.get(id), changed };
    });
  }

  removeMembers(ctx: RequestContext, id: string, deviceIds: string[]): MembershipChange {
    return this.stores.transaction(() => {
      this.get(id);
      const unique = [...new Set(deviceIds)];
      this.changes.deviceGroupMembersChanging(id, unique, false);
      const changed = this.stores.deviceGroups.removeMembers(id, unique);
      if (changed > 0) {
        audit(this.stores.events, ctx, { action: "device-group.members-removed", objectType: "device-group", objectId: id, details: { deviceIds: unique, removed: changed } });
      }
      return { group: this.get(id), changed };
    });
  }

  /** Group ids for names given at enrollment (`tether-agent install --group NAME`). */
  resolveNames(names: readonly string[]): DeviceGroup[] {
    return names.map((name) => {
      const group = this.stores.deviceGroups.findByName(name);
      if (!group) throw ValidationError.field("deviceGroups", `no device group named "${name}"`);
      return group;
    });
  }

  private ensureNameFree(name: string): void {
    if (this.stores.deviceGroups.findByName(name)) {
      throw new ConflictError(`a device group named "${name}" already exists`, [{ field: "name", reason: "already in use" }]);
    }
  }
}
