import type { RequestContext } from "../domain/actor.js";
import type { Binding, BindingChange, EffectiveUser, ObjectType, ReachedDevice, SubjectType } from "../domain/binding.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { sameSudo, type Sudo } from "../domain/user-group.js";
import { NotFoundError } from "../errors.js";
import type { Edge } from "../store/bindings.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import type { DeviceRevisions } from "./device-revisions.js";
import { effectiveUsersOfDevices, reachedDevices, type DirectoryGraph, type GroupPathRow } from "./effective-users.js";

const KIND_NAMES: Record<SubjectType | ObjectType, string> = {
  user: "user",
  "user-group": "user group",
  device: "device",
  "device-group": "device group",
};

/** Bindings between users (or user groups) and devices (or device groups), and the effective users they add up to. */
export class BindingService {
  constructor(
    private readonly stores: Stores,
    private readonly revisions: DeviceRevisions,
  ) {}

  list(query: ListQuery): Page<Binding> {
    return this.stores.bindings.list(query);
  }

  /** Adds the edge, or replaces the sudo of the one already there. Repeating a PUT changes nothing. */
  put(ctx: RequestContext, given: Edge, sudo: Sudo | null): BindingChange {
    return this.stores.transaction(() => {
      const edge = this.resolve(given);
      const before = this.stores.bindings.get(edge);
      const binding = this.stores.bindings.put(edge, sudo, ctx.now.toISOString());
      if (before && sameSudo(before.sudo, binding.sudo)) return { binding, devicesAffected: 0 };
      const devicesAffected = this.revisions.bump([this.reachedBy(edge)]);
      audit(this.stores.events, ctx, {
        action: before ? "binding.updated" : "binding.added",
        objectType: edge.subjectType,
        objectId: edge.subjectId,
        details: { object: { type: edge.objectType, id: edge.objectId }, sudo: binding.sudo, ...(before ? { previousSudo: before.sudo } : {}), devicesAffected },
      });
      return { binding, devicesAffected };
    });
  }

  /** Removes the edge; removing one that is not there changes nothing. Unknown ends are a 404. */
  remove(ctx: RequestContext, given: Edge): void {
    this.stores.transaction(() => {
      const edge = this.resolve(given);
      const before = this.stores.bindings.get(edge);
      if (!before) return;
      const devicesAffected = this.revisions.bump([this.reachedBy(edge)]);
      this.stores.bindings.delete(edge);
      audit(this.stores.events, ctx, {
        action: "binding.removed",
        objectType: edge.subjectType,
        objectId: edge.subjectId,
        details: { object: { type: edge.objectType, id: edge.objectId }, sudo: before.sudo, devicesAffected },
      });
    });
  }

  /** The users of a device, with their compiled attributes and every path that binds them. */
  usersOfDevice(deviceId: string, query: Pick<ListQuery, "limit" | "skip">): Page<EffectiveUser> {
    if (!this.stores.devices.get(deviceId)) throw new NotFoundError("device", deviceId);
    return page(this.effectiveUsersOf([deviceId]).get(deviceId) ?? [], query);
  }

  /**
   * The effective users of many devices at once: their paths (each device group's read once for all
   * its members), then one query per kind of node. Desired-state documents are built from this; for
   * many devices, one call is far cheaper than one call per device.
   */
  effectiveUsersOf(deviceIds: readonly string[]): Map<string, EffectiveUser[]> {
    const paths = this.stores.directoryGraph.pathsToDevices(deviceIds);
    const rows = [...paths.direct, ...[...paths.groupPaths.values()].flat()];
    const devices = [...new Set([...paths.direct.map((row) => row.deviceId), ...paths.groupsOf.keys()])];
    return effectiveUsersOfDevices(deviceIds, paths, this.graphFor(rows, devices));
  }

  /** The devices a user reaches, with the sudo they get on each and every path that binds them. */
  devicesOfUser(idOrUsername: string, query: Pick<ListQuery, "limit" | "skip">): Page<ReachedDevice> {
    const rows = this.stores.directoryGraph.pathsFromUsers([userIdOf(this.stores, idOrUsername)]);
    return page(reachedDevices(rows, this.graphFor(rows, [...new Set(rows.map((row) => row.deviceId))])), query);
  }

  /** The nodes the rows mention (and these devices), fetched once each. */
  private graphFor(rows: readonly GroupPathRow[], deviceIds: readonly string[]): DirectoryGraph {
    const [users, userGroups, deviceGroups] = [new Set<string>(), new Set<string>(), new Set<string>()];
    for (const row of rows) {
      users.add(row.userId);
      if (row.userGroupId !== null) userGroups.add(row.userGroupId);
      if (row.deviceGroupId !== null) deviceGroups.add(row.deviceGroupId);
    }
    const graph = this.stores.directoryGraph;
    const userIds = [...users];
    return {
      users: new Map(graph.userFacts(userIds).map((u) => [u.id, u])),
      userGroups: new Map(graph.userGroupFacts([...userGroups]).map((g) => [g.id, g])),
      deviceGroupNames: graph.deviceGroupNames([...deviceGroups]),
      devices: new Map(graph.deviceFacts(deviceIds).map((d) => [d.id, d])),
      posixGroups: graph.posixGroupsOf(userIds),
    };
  }

  private reachedBy(edge: Edge) {
    return this.stores.directoryGraph.devicesOfEdge(edge.subjectType, edge.subjectId, edge.objectType, edge.objectId);
  }

  /** The edge with its user named by id (the path may name it by username); an unknown end is a 404. */
  private resolve(edge: Edge): Edge {
    const subjectId = edge.subjectType === "user" ? userIdOf(this.stores, edge.subjectId) : edge.subjectId;
    for (const [type, id] of [
      [edge.subjectType, subjectId],
      [edge.objectType, edge.objectId],
    ] as const) {
      if (!this.stores.directoryGraph.nodeExists(type, id)) throw new NotFoundError(KIND_NAMES[type], id);
    }
    return { ...edge, subjectId };
  }
}

/** Users are addressed by id or by username, as in the users routes. */
export function userIdOf(stores: Stores, idOrUsername: string): string {
  const user = stores.users.get(idOrUsername) ?? stores.users.findByUsername(idOrUsername);
  if (!user) throw new NotFoundError("user", idOrUsername);
  return user.id;
}

function page<T>(items: T[], query: Pick<ListQuery, "limit" | "skip">): Page<T> {
  return { results: items.slice(query.skip, query.skip + query.limit), totalCount: items.length };
}
