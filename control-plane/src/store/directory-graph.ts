import type { ObjectType, SubjectType } from "../domain/binding.js";
import type { PosixGroup } from "../domain/user-group.js";
import type { SshKey } from "../domain/user.js";
import type { DeviceFacts, DevicePaths, GroupPathRow, PathRow, UserFacts, UserGroupFacts } from "../services/effective-users.js";
import { sudoOf } from "./bindings.js";
import type { Db } from "./db.js";
import { StatementCache } from "./statements.js";
import type { UserRow } from "./users.js";

/**
 * The directory as a graph, read with SQL: every path from users to devices (user → [user group] →
 * binding → [device group] → device), the facts that compile them, and which devices a change
 * reaches. Id sets travel as one JSON array parameter (json_each), so a query is the same statement
 * for one id or ten thousand.
 */

/**
 * A set of device ids as a SQL subquery with named parameters (`@group`); bumpRevisions bumps the
 * union of several sets, each device once.
 */
export interface DeviceSet {
  sql: string;
  params: Record<string, unknown>;
}

/** Where the users of a path query come from: a list of ids, or the members of a user group. */
type UserSource = { ids: readonly string[] } | { membersOf: string };

interface PathSqlRow {
  user_id: string;
  /** Null in paths to device groups. */
  device_id: string | null;
  user_group_id: string | null;
  device_group_id: string | null;
  sudo_enabled: number | null;
  sudo_without_password: number;
}

// The four kinds of path, from a set of ids outwards. CROSS JOIN fixes the join order (SQLite never
// reorders it): the planner cannot tell how many ids json_each holds and would otherwise scan every
// binding of a type for each of them.

/**
 * Paths ending at a set of devices `d(id)` through a direct binding (user↔device, user-group↔device).
 * Indexes: bindings_object, user_group_members PK.
 */
const DIRECT_PATHS_TO_DEVICES = `
  SELECT b.subject_id AS user_id, d.id AS device_id, NULL AS user_group_id, NULL AS device_group_id, b.sudo_enabled, b.sudo_without_password
    FROM d CROSS JOIN bindings b ON b.object_type = 'device' AND b.object_id = d.id AND b.subject_type = 'user'
  UNION ALL
  SELECT um.user_id, d.id, b.subject_id, NULL, b.sudo_enabled, b.sudo_without_password
    FROM d CROSS JOIN bindings b ON b.object_type = 'device' AND b.object_id = d.id AND b.subject_type = 'user-group'
    CROSS JOIN user_group_members um ON um.group_id = b.subject_id`;

/**
 * Paths ending at a set of device groups `g(id)` (user↔device-group, user-group↔device-group). Every
 * member of a group shares them, so they are read once per group, not once per device.
 */
const PATHS_TO_DEVICE_GROUPS = `
  SELECT b.subject_id AS user_id, NULL AS device_id, NULL AS user_group_id, g.id AS device_group_id, b.sudo_enabled, b.sudo_without_password
    FROM g CROSS JOIN bindings b ON b.object_type = 'device-group' AND b.object_id = g.id AND b.subject_type = 'user'
  UNION ALL
  SELECT um.user_id, NULL, b.subject_id, g.id, b.sudo_enabled, b.sudo_without_password
    FROM g CROSS JOIN bindings b ON b.object_type = 'device-group' AND b.object_id = g.id AND b.subject_type = 'user-group'
    CROSS JOIN user_group_members um ON um.group_id = b.subject_id`;

/** The four kinds of path starting at a set of users `u(id)`. Indexes: bindings PK, user_group_members_user, device_group_members PK. */
const PATHS_FROM_USERS = `
  SELECT u.id AS user_id, b.object_id AS device_id, NULL AS user_group_id, NULL AS device_group_id, b.sudo_enabled, b.sudo_without_password
    FROM u CROSS JOIN bindings b ON b.subject_type = 'user' AND b.subject_id = u.id AND b.object_type = 'device'
  UNION ALL
  SELECT u.id, m.device_id, NULL, b.object_id, b.sudo_enabled, b.sudo_without_password
    FROM u CROSS JOIN bindings b ON b.subject_type = 'user' AND b.subject_id = u.id AND b.object_type = 'device-group'
    CROSS JOIN device_group_members m ON m.group_id = b.object_id
  UNION ALL
  SELECT u.id, b.object_id, um.group_id, NULL, b.sudo_enabled, b.sudo_without_password
    FROM u CROSS JOIN user_group_members um ON um.user_id = u.id
    CROSS JOIN bindings b ON b.subject_type = 'user-group' AND b.subject_id = um.group_id AND b.object_type = 'device'
  UNION ALL
  SELECT u.id, m.device_id, um.group_id, b.object_id, b.sudo_enabled, b.sudo_without_password
    FROM u CROSS JOIN user_group_members um ON um.user_id = u.id
    CROSS JOIN bindings b ON b.subject_type = 'user-group' AND b.subject_id = um.group_id AND b.object_type = 'device-group'
    CROSS JOIN device_group_members m ON m.group_id = b.object_id`;

/** The devices a user group's bindings reach (directly or through device groups). */
const DEVICES_OF_USER_GROUP_BINDINGS = `
  SELECT b.object_id FROM bindings b WHERE b.subject_type = 'user-group' AND b.subject_id = @group AND b.object_type = 'device'
  UNION
  SELECT m.device_id FROM bindings b JOIN device_group_members m ON m.group_id = b.object_id
   WHERE b.subject_type = 'user-group' AND b.subject_id = @group AND b.object_type = 'device-group'`;

/** True when the device group is bound to at least one user (directly or through a non-empty user group). */
const DEVICE_GROUP_HAS_USERS = `EXISTS (
  SELECT 1 FROM bindings b WHERE b.object_type = 'device-group' AND b.object_id = @group
     AND (b.subject_type = 'user' OR EXISTS (SELECT 1 FROM user_group_members um WHERE um.group_id = b.subject_id)))`;

const NODE_TABLES: Record<SubjectType | ObjectType, string> = {
  user: "users",
  "user-group": "user_groups",
  device: "devices",
  "device-group": "device_groups",
};

function userCte(source: UserSource): { sql: string; params: Record<string, unknown> } {
  return "ids" in source
    ? { sql: "u(id) AS (SELECT DISTINCT value FROM json_each(@users))", params: { users: JSON.stringify(source.ids) } }
    : { sql: "u(id) AS (SELECT user_id FROM user_group_members WHERE group_id = @group)", params: { group: source.membersOf } };
}

/** The columns of a users row that the effective-users computation reads. */
type UserFactsRow = Pick<
  UserRow,
  "id" | "username" | "displayname" | "firstname" | "lastname" | "state" | "account_locked" | "sudo" | "passwordless_sudo" | "ssh_keys" | "unix_uid" | "unix_gid" | "shell"
>;

function toGroupPathRow(row: PathSqlRow): GroupPathRow {
  return { userId: row.user_id, userGroupId: row.user_group_id, deviceGroupId: row.device_group_id, sudo: sudoOf(row) };
}

function toPathRow(row: PathSqlRow): PathRow {
  return { ...toGroupPathRow(row), deviceId: row.device_id! };
}

export class DirectoryGraphStore {
  /** The hot statements, prepared once: a desired-state fetch per device runs them all. */
  private readonly statements: StatementCache;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  /** Runs a statement whose one parameter is a set of ids (a JSON array for json_each). */
  private allFor<Row>(sql: string, ids: readonly string[]): Row[] {
    return this.statements.prepare(sql).all(JSON.stringify(ids)) as Row[];
  }

  /** Every path that ends at one of these devices: the direct ones, and each of their device groups' once. */
  pathsToDevices(deviceIds: readonly string[]): DevicePaths {
    const direct = this.allFor<PathSqlRow>(`WITH d(id) AS (SELECT DISTINCT value FROM json_each(?)) ${DIRECT_PATHS_TO_DEVICES}`, deviceIds);
    const memberships = this.allFor<{ device_id: string; group_id: string }>(
      "SELECT DISTINCT m.device_id, m.group_id FROM json_each(?) j CROSS JOIN device_group_members m ON m.device_id = j.value ORDER BY 1, 2",
      deviceIds,
    );
    const groupPaths = new Map<string, GroupPathRow[]>();
    const groupIds = [...new Set(memberships.map((m) => m.group_id))];
    for (const row of this.allFor<PathSqlRow>(`WITH g(id) AS (SELECT value FROM json_each(?)) ${PATHS_TO_DEVICE_GROUPS}`, groupIds)) {
      const list = groupPaths.get(row.device_group_id!) ?? [];
      list.push(toGroupPathRow(row));
      groupPaths.set(row.device_group_id!, list);
    }
    const groupsOf = new Map<string, string[]>();
    for (const { device_id, group_id } of memberships) {
      if (!groupPaths.has(group_id)) continue;
      const list = groupsOf.get(device_id) ?? [];
      list.push(group_id);
      groupsOf.set(device_id, list);
    }
    return { direct: direct.map(toPathRow), groupsOf, groupPaths };
  }

  /** Every path that starts at one of these users. */
  pathsFromUsers(userIds: readonly string[]): PathRow[] {
    const u = userCte({ ids: userIds });
    const rows = this.statements.prepare(`WITH ${u.sql} ${PATHS_FROM_USERS}`).all(u.params) as PathSqlRow[];
    return rows.map(toPathRow);
  }

  /** What devices need of these users (never their password hashes). */
  userFacts(ids: readonly string[]): UserFacts[] {
    const rows = this.allFor<UserFactsRow>(
      `SELECT id, username, displayname, firstname, lastname, state, account_locked, sudo, passwordless_sudo, ssh_keys, unix_uid, unix_gid, shell
         FROM users WHERE id IN (SELECT value FROM json_each(?))`,
      ids,
    );
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      fullName: r.displayname || `${r.firstname} ${r.lastname}`.trim(),
      state: r.state,
      accountLocked: r.account_locked === 1,
      sudo: r.sudo === 1,
      passwordlessSudo: r.passwordless_sudo === 1,
      sshKeys: JSON.parse(r.ssh_keys) as SshKey[],
      unixUid: r.unix_uid,
      unixGid: r.unix_gid,
      shell: r.shell,
    }));
  }

  userGroupFacts(ids: readonly string[]): UserGroupFacts[] {
    const rows = this.allFor<{ id: string; name: string; sudo_enabled: number; sudo_without_password: number }>(
      "SELECT id, name, sudo_enabled, sudo_without_password FROM user_groups WHERE id IN (SELECT value FROM json_each(?))",
      ids,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, sudo: { enabled: r.sudo_enabled === 1, withoutPassword: r.sudo_without_password === 1 } }));
  }

  deviceGroupNames(ids: readonly string[]): Map<string, string> {
    const rows = this.allFor<{ id: string; name: string }>("SELECT id, name FROM device_groups WHERE id IN (SELECT value FROM json_each(?))", ids);
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  deviceFacts(ids: readonly string[]): DeviceFacts[] {
    const rows = this.allFor<{ id: string; display_name: string; hostname: string; os: string }>(
      "SELECT id, display_name, hostname, os FROM devices WHERE id IN (SELECT value FROM json_each(?))",
      ids,
    );
    return rows.map((r) => ({ id: r.id, displayName: r.display_name, hostname: r.hostname, os: r.os }));
  }

  /** Each user's Linux groups: the posixGroup of every user group they are a member of, by name. */
  posixGroupsOf(userIds: readonly string[]): Map<string, PosixGroup[]> {
    const rows = this.allFor<{ user_id: string; name: string; gid: number | null }>(
      `SELECT um.user_id, g.posix_group_name AS name, g.posix_gid AS gid
         FROM json_each(?) j CROSS JOIN user_group_members um ON um.user_id = j.value CROSS JOIN user_groups g ON g.id = um.group_id
        WHERE g.posix_group_name IS NOT NULL ORDER BY um.user_id, g.posix_group_name`,
      userIds,
    );
    const groups = new Map<string, PosixGroup[]>();
    for (const row of rows) {
      const list = groups.get(row.user_id) ?? [];
      list.push({ name: row.name, gid: row.gid });
      groups.set(row.user_id, list);
    }
    return groups;
  }

  nodeExists(type: SubjectType | ObjectType, id: string): boolean {
    return this.statements.prepare(`SELECT 1 FROM ${NODE_TABLES[type]} WHERE id = ?`).get(id) !== undefined;
  }

  /** Which of these ids are users that exist. */
  existingUsers(ids: readonly string[]): Set<string> {
    return new Set(this.allFor<{ id: string }>("SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?))", ids).map((r) => r.id));
  }

  // ---- Which devices a change reaches ----

  /** Every device these users reach, by any path. */
  devicesOfUsers(source: UserSource): DeviceSet {
    const u = userCte(source);
    return { sql: `WITH ${u.sql} SELECT device_id FROM (${PATHS_FROM_USERS})`, params: u.params };
  }

  /** The devices a user group's bindings reach; with `onlyIfMembers`, none when the group has no members. */
  devicesOfUserGroupBindings(groupId: string, onlyIfMembers: boolean): DeviceSet {
    const condition = onlyIfMembers ? "WHERE EXISTS (SELECT 1 FROM user_group_members WHERE group_id = @group)" : "";
    return { sql: `SELECT * FROM (${DEVICES_OF_USER_GROUP_BINDINGS}) ${condition}`, params: { group: groupId } };
  }

  /** The devices one edge reaches, when its subject has any user (a user group may be empty). */
  devicesOfEdge(subjectType: SubjectType, subjectId: string, objectType: ObjectType, objectId: string): DeviceSet {
    const devices = objectType === "device" ? "SELECT @object" : "SELECT device_id FROM device_group_members WHERE group_id = @object";
    // A user binding exists only for an existing user; a user-group binding reaches nobody while the group is empty.
    if (subjectType === "user") return { sql: devices, params: { object: objectId } };
    return { sql: `SELECT * FROM (${devices}) WHERE EXISTS (SELECT 1 FROM user_group_members WHERE group_id = @subject)`, params: { object: objectId, subject: subjectId } };
  }

  /**
   * The devices among `deviceIds` whose membership of the device group would change (joining when
   * `joining`, else leaving), when the group is bound to any user. Ask before the change is made.
   */
  devicesChangingMembership(groupId: string, deviceIds: readonly string[], joining: boolean): DeviceSet {
    return {
      sql: `SELECT value FROM json_each(@devices) WHERE ${joining ? "NOT" : ""} EXISTS
              (SELECT 1 FROM device_group_members WHERE group_id = @group AND device_id = value) AND ${DEVICE_GROUP_HAS_USERS}`,
      params: { group: groupId, devices: JSON.stringify(deviceIds) },
    };
  }

  /** Every member of a device group, when the group is bound to any user. */
  devicesOfDeviceGroup(groupId: string): DeviceSet {
    return { sql: `SELECT device_id FROM device_group_members WHERE group_id = @group AND ${DEVICE_GROUP_HAS_USERS}`, params: { group: groupId } };
  }

  /** Bumps the desired-state revision of every device in the union of the sets, once each; returns how many. */
  bumpRevisions(sets: readonly DeviceSet[]): number {
    if (sets.length === 0) return 0;
    // The sets' parameter names may repeat: prefix each set's with its index.
    const params: Record<string, unknown> = {};
    const parts = sets.map((set, index) => {
      for (const [name, value] of Object.entries(set.params)) params[`s${index}_${name}`] = value;
      return `SELECT * FROM (${set.sql.replace(/@(\w+)/g, `@s${index}_$1`)})`;
    });
    return this.db.prepare(`UPDATE devices SET desired_revision = desired_revision + 1 WHERE id IN (${parts.join(" UNION ")})`).run(params).changes;
  }
}
