import type { DeviceSet } from "../store/directory-graph.js";
import type { Stores } from "../store/index.js";
import type { DeviceGroupChangeListener, DirectoryChangeListener } from "./ports.js";

/**
 * Moves devices' desired-state revisions when the directory changes what they should look like
 * (DESIGN.md, principle 1). Each change names the devices it reaches with one SQL query over the
 * graph and bumps them in one UPDATE, inside the caller's transaction; nothing recompiles a device.
 *
 * A bump means "look again": every device the changed edge reaches is bumped, also when another path
 * happened to give it the same users already.
 */
export class DeviceRevisions implements DirectoryChangeListener, DeviceGroupChangeListener {
  constructor(private readonly stores: Stores) {}

  /** Bumps the union of the sets, each device once; returns how many devices moved. */
  bump(sets: readonly DeviceSet[]): number {
    return this.stores.directoryGraph.bumpRevisions(sets);
  }

  usersChanged(userIds: readonly string[]): void {
    const ids = [...new Set(userIds)];
    if (ids.length === 0) return;
    this.bump([this.stores.directoryGraph.devicesOfUsers({ ids })]);
    // A deleted user's edges outlive the row until now: they were what named the devices above.
    const existing = this.stores.directoryGraph.existingUsers(ids);
    const deleted = ids.filter((id) => !existing.has(id));
    if (deleted.length > 0) {
      this.stores.bindings.deleteOfUsers(deleted);
      this.stores.userGroups.removeUserEverywhere(deleted);
    }
  }

  deviceGroupMembersChanging(groupId: string, deviceIds: readonly string[], joining: boolean): number {
    return this.bump([this.stores.directoryGraph.devicesChangingMembership(groupId, deviceIds, joining)]);
  }

  deviceGroupDeleting(groupId: string): number {
    return this.bump([this.stores.directoryGraph.devicesOfDeviceGroup(groupId)]);
  }
}
