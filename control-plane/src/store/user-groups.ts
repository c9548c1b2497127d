import type { ListQuery, Page } from "../domain/list-query.js";
import { USER_GROUP_LIST, type CustomAttribute, type UserGroup, type UserGroupAttributes } from "../domain/user-group.js";
import { USER_LIST } from "../domain/user.js";
import type { Db } from "./db.js";
import { qualify } from "./list-sql.js";
import { listPage } from "./page.js";

interface Row {
  id: string;
  name: string;
  description: string;
  sudo_enabled: number;
  sudo_without_password: number;
  posix_group_name: string | null;
  posix_gid: number | null;
  samba_enabled: number;
  custom_attributes: string;
  member_count: number;
  created_at: string;
  updated_at: string;
}

const FROM = "user_groups g";
const COLUMNS =
  "g.id, g.name, g.description, g.sudo_enabled, g.sudo_without_password, g.posix_group_name, g.posix_gid, g.samba_enabled, g.custom_attributes, " +
  "g.created_at, g.updated_at, (SELECT COUNT(*) FROM user_group_members m WHERE m.group_id = g.id) AS member_count";

function toGroup(row: Row): UserGroup {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    attributes: {
      sudo: { enabled: row.sudo_enabled === 1, withoutPassword: row.sudo_without_password === 1 },
      posixGroup: row.posix_group_name === null ? null : { name: row.posix_group_name, gid: row.posix_gid },
      samba: { enabled: row.samba_enabled === 1 },
    },
    customAttributes: JSON.parse(row.custom_attributes) as CustomAttribute[],
    memberCount: row.member_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface UserGroupFields {
  name: string;
  description: string;
  attributes: UserGroupAttributes;
  customAttributes: CustomAttribute[];
}

/** The columns of a group's fields, in the order of INSERT and UPDATE below. */
function values(fields: UserGroupFields): unknown[] {
  const { sudo, posixGroup, samba } = fields.attributes;
  return [
    fields.name,
    fields.description,
    sudo.enabled ? 1 : 0,
    sudo.enabled && sudo.withoutPassword ? 1 : 0,
    posixGroup?.name ?? null,
    posixGroup?.gid ?? null,
    samba.enabled ? 1 : 0,
    JSON.stringify(fields.customAttributes),
  ];
}

export class UserGroupStore {
  constructor(private readonly db: Db) {}

  insert(id: string, fields: UserGroupFields, at: string): UserGroup {
    this.db
      .prepare(
        `INSERT INTO user_groups (id, name, description, sudo_enabled, sudo_without_password, posix_group_name, posix_gid, samba_enabled,
           custom_attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, ...values(fields), at, at);
    return this.get(id)!;
  }

  /** Replaces every field (the service merges a PATCH onto the current group first). */
  update(id: string, fields: UserGroupFields, at: string): void {
    this.db
      .prepare(
        `UPDATE user_groups SET name = ?, description = ?, sudo_enabled = ?, sudo_without_password = ?, posix_group_name = ?, posix_gid = ?,
           samba_enabled = ?, custom_attributes = ?, updated_at = ? WHERE id = ?`,
      )
      .run(...values(fields), at, id);
  }

  get(id: string): UserGroup | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM ${FROM} WHERE g.id = ?`).get(id) as Row | undefined;
    return row && toGroup(row);
  }

  findByName(name: string): UserGroup | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM ${FROM} WHERE g.name = ?`).get(name) as Row | undefined;
    return row && toGroup(row);
  }

  /** The group (other than `exceptId`) that already manages this Linux group name or gid. */
  findPosixClash(name: string, gid: number | null, exceptId: string | null): UserGroup | undefined {
    const row = this.db
      .prepare(`SELECT ${COLUMNS} FROM ${FROM} WHERE (g.posix_group_name = ? OR g.posix_gid = ?) AND g.id IS NOT ? LIMIT 1`)
      .get(name, gid, exceptId) as Row | undefined;
    return row && toGroup(row);
  }

  list(query: ListQuery): Page<UserGroup> {
    return listPage(this.db, FROM, COLUMNS, query, qualify(USER_GROUP_LIST, "g"), toGroup);
  }

  /** The groups a user is a member of. */
  ofUser(userId: string, query: ListQuery): Page<UserGroup> {
    return listPage(
      this.db,
      `${FROM} JOIN user_group_members um ON um.group_id = g.id`,
      COLUMNS,
      query,
      qualify(USER_GROUP_LIST, "g"),
      toGroup,
      ["um.user_id = ?"],
      [userId],
    );
  }

  delete(id: string): boolean {
    return this.db.prepare("DELETE FROM user_groups WHERE id = ?").run(id).changes > 0;
  }

  /** A page of the group's member ids, sorted and filtered by the users' fields. */
  memberIds(groupId: string, query: ListQuery): Page<string> {
    return listPage(
      this.db,
      "users u JOIN user_group_members um ON um.user_id = u.id",
      "u.id",
      query,
      qualify(USER_LIST, "u"),
      (row: { id: string }) => row.id,
      ["um.group_id = ?"],
      [groupId],
    );
  }

  /** Adds members; ones already present are left as they are. Returns the ids that were new. */
  addMembers(groupId: string, userIds: readonly string[], at: string): string[] {
    const stmt = this.db.prepare("INSERT OR IGNORE INTO user_group_members (group_id, user_id, added_at) VALUES (?, ?, ?)");
    return userIds.filter((id) => stmt.run(groupId, id, at).changes > 0);
  }

  /** Removes members; ids that are not members are ignored. Returns the ids that were removed. */
  removeMembers(groupId: string, userIds: readonly string[]): string[] {
    const stmt = this.db.prepare("DELETE FROM user_group_members WHERE group_id = ? AND user_id = ?");
    return userIds.filter((id) => stmt.run(groupId, id).changes > 0);
  }

  /** Removes a (deleted) user from every group. */
  removeUserEverywhere(userIds: readonly string[]): void {
    this.db.prepare("DELETE FROM user_group_members WHERE user_id IN (SELECT value FROM json_each(?))").run(JSON.stringify(userIds));
  }
}
