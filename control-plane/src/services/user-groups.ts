import type { RequestContext } from "../domain/actor.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { sameSudo, type CreateUserGroup, type PosixGroup, type UpdateUserGroup, type UserGroup } from "../domain/user-group.js";
import type { User } from "../domain/user.js";
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import { newId } from "../ids.js";
import type { DeviceSet } from "../store/directory-graph.js";
import type { Stores } from "../store/index.js";
import type { UserGroupFields } from "../store/user-groups.js";
import { audit } from "./audit.js";
import { userIdOf } from "./bindings.js";
import type { DeviceRevisions } from "./device-revisions.js";

export interface UserGroupMembershipChange {
  group: UserGroup;
  /** How many of the given users changed membership; the others already were (or were not) members. */
  changed: number;
  /** How many devices' desired-state revisions moved. */
  devicesAffected: number;
}

/** User groups: CRUD and members. Every change that alters what devices should have bumps their revisions in the same transaction. */
export class UserGroupService {
  constructor(
    private readonly stores: Stores,
    private readonly revisions: DeviceRevisions,
  ) {}

  list(query: ListQuery): Page<UserGroup> {
    return this.stores.userGroups.list(query);
  }

  get(id: string): UserGroup {
    const group = this.stores.userGroups.get(id);
    if (!group) throw new NotFoundError("user group", id);
    return group;
  }

  members(id: string, query: ListQuery): Page<User> {
    this.get(id);
    const page = this.stores.userGroups.memberIds(id, query);
    return { results: page.results.map((userId) => this.stores.users.get(userId)!), totalCount: page.totalCount };
  }

  /** The groups a user is a member of. */
  ofUser(idOrUsername: string, query: ListQuery): Page<UserGroup> {
    return this.stores.userGroups.ofUser(userIdOf(this.stores, idOrUsername), query);
  }

  create(ctx: RequestContext, input: CreateUserGroup): UserGroup {
    return this.stores.transaction(() => {
      this.ensureUnique(input, null);
      const group = this.stores.userGroups.insert(newId("ug", ctx.now.getTime()), input, ctx.now.toISOString());
      audit(this.stores.events, ctx, { action: "user-group.created", objectType: "user-group", objectId: group.id, details: { ...input } });
      return group;
    });
  }

  /** PATCH: fields left out keep their value; an attribute given replaces that attribute. */
  update(ctx: RequestContext, id: string, changes: UpdateUserGroup): UserGroup {
    return this.stores.transaction(() => {
      const before = this.get(id);
      const after: UserGroupFields = {
        name: changes.name ?? before.name,
        description: changes.description ?? before.description,
        attributes: { ...before.attributes, ...changes.attributes },
        customAttributes: changes.customAttributes ?? before.customAttributes,
      };
      this.ensureUnique(after, before);
      // A new name or description changes no device; sudo reaches the group's bound devices, and its
      // Linux group every device its members are on.
      const reached: DeviceSet[] = [];
      if (!sameSudo(before.attributes.sudo, after.attributes.sudo)) reached.push(this.stores.directoryGraph.devicesOfUserGroupBindings(id, true));
      if (!samePosixGroup(before.attributes.posixGroup, after.attributes.posixGroup)) reached.push(this.stores.directoryGraph.devicesOfUsers({ membersOf: id }));
      this.stores.userGroups.update(id, after, ctx.now.toISOString());
      const devicesAffected = this.revisions.bump(reached);
      audit(this.stores.events, ctx, { action: "user-group.updated", objectType: "user-group", objectId: id, details: { ...changes, devicesAffected } });
      return this.get(id);
    });
  }

  delete(ctx: RequestContext, id: string): void {
    this.stores.transaction(() => {
      const group = this.get(id);
      const reached = [this.stores.directoryGraph.devicesOfUserGroupBindings(id, true)];
      if (group.attributes.posixGroup) reached.push(this.stores.directoryGraph.devicesOfUsers({ membersOf: id }));
      const devicesAffected = this.revisions.bump(reached);
      this.stores.userGroups.delete(id);
      audit(this.stores.events, ctx, { action: "user-group.deleted", objectType: "user-group", objectId: id, details: { name: group.name, devicesAffected } });
    });
  }

  /** Idempotent: adding a member twice changes nothing the second time. Unknown users are a 400 and nothing is added. */
  addMembers(ctx: RequestContext, id: string, userIds: readonly string[]): UserGroupMembershipChange {
    return this.stores.transaction(() => {
      this.get(id);
      const unique = [...new Set(userIds)];
      const known = this.stores.directoryGraph.existingUsers(unique);
      const missing = unique.filter((u) => !known.has(u));
      if (missing.length > 0) {
        throw new ValidationError(
          `no such user: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`,
          missing.map((u) => ({ field: "userIds", reason: `no user with id "${u}"` })),
        );
      }
      const added = this.stores.userGroups.addMembers(id, unique, ctx.now.toISOString());
      return this.membershipChanged(ctx, id, added, "user-group.members-added", "added");
    });
  }

  /** Idempotent: ids that are not members (or not users) are ignored. */
  removeMembers(ctx: RequestContext, id: string, userIds: readonly string[]): UserGroupMembershipChange {
    return this.stores.transaction(() => {
      this.get(id);
      const removed = this.stores.userGroups.removeMembers(id, [...new Set(userIds)]);
      return this.membershipChanged(ctx, id, removed, "user-group.members-removed", "removed");
    });
  }

  /**
   * After members joined or left: the group's bound devices gain or lose them, and with a Linux group
   * every device they are on sees their groups change.
   */
  private membershipChanged(ctx: RequestContext, id: string, userIds: string[], action: string, verb: "added" | "removed"): UserGroupMembershipChange {
    let devicesAffected = 0;
    if (userIds.length > 0) {
      const group = this.get(id);
      const reached = [this.stores.directoryGraph.devicesOfUserGroupBindings(id, false)];
      if (group.attributes.posixGroup) reached.push(this.stores.directoryGraph.devicesOfUsers({ ids: userIds }));
      devicesAffected = this.revisions.bump(reached);
      audit(this.stores.events, ctx, { action, objectType: "user-group", objectId: id, details: { userIds, [verb]: userIds.length, devicesAffected } });
    }
    return { group: this.get(id), changed: userIds.length, devicesAffected };
  }

  /** Names are unique regardless of case; a Linux group name or gid belongs to one user group. */
  private ensureUnique(fields: Pick<UserGroupFields, "name" | "attributes">, before: UserGroup | null): void {
    if (before === null || fields.name.toLowerCase() !== before.name.toLowerCase()) {
      if (this.stores.userGroups.findByName(fields.name)) {
        throw new ConflictError(`a user group named "${fields.name}" already exists`, [{ field: "name", reason: "already in use" }]);
      }
    }
    const posix = fields.attributes.posixGroup;
    const clash = posix && this.stores.userGroups.findPosixClash(posix.name, posix.gid, before?.id ?? null);
    if (posix && clash) {
      const byName = clash.attributes.posixGroup?.name === posix.name;
      throw new ConflictError(
        byName ? `the Linux group "${posix.name}" belongs to the user group "${clash.name}"` : `gid ${posix.gid} belongs to the user group "${clash.name}"`,
        [{ field: byName ? "attributes.posixGroup.name" : "attributes.posixGroup.gid", reason: "already in use" }],
      );
    }
  }
}

function samePosixGroup(a: PosixGroup | null, b: PosixGroup | null): boolean {
  return a?.name === b?.name && a?.gid === b?.gid;
}
