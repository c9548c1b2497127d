import { DEVICE_GROUP_LIST, type DeviceGroup } from "../domain/device-group.js";
import { DEVICE_LIST, type Device } from "../domain/device.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { DEVICE_COLUMNS, toDevice, type DeviceRow } from "./devices.js";
import { qualify, qualifyColumns } from "./list-sql.js";
import { listPage } from "./page.js";

interface Row {
  id: string;
  name: string;
  description: string;
  member_count: number;
  created_at: string;
  updated_at: string;
}

const FROM = "device_groups g";
const COLUMNS =
  "g.id, g.name, g.description, g.created_at, g.updated_at, (SELECT COUNT(*) FROM device_group_members m WHERE m.group_id = g.id) AS member_count";

function toGroup(row: Row): DeviceGroup {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    memberCount: row.member_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class DeviceGroupStore {
  constructor(private readonly db: Db) {}

  insert(group: { id: string; name: string; description: string; at: string }): DeviceGroup {
    this.db
      .prepare("INSERT INTO device_groups (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
      .run(group.id, group.name, group.description, group.at, group.at);
    return this.get(group.id)!;
  }

  get(id: string): DeviceGroup | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM ${FROM} WHERE g.id = ?`).get(id) as Row | undefined;
    return row && toGroup(row);
  }

  findByName(name: string): DeviceGroup | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM ${FROM} WHERE g.name = ?`).get(name) as Row | undefined;
    return row && toGroup(row);
  }

  list(query: ListQuery): Page<DeviceGroup> {
    return listPage(this.db, FROM, COLUMNS, query, qualify(DEVICE_GROUP_LIST, "g"), toGroup);
  }

  update(id: string, changes: { name?: string; description?: string }, at: string): void {
    this.db
      .prepare("UPDATE device_groups SET name = COALESCE(?, name), description = COALESCE(?, description), updated_at = ? WHERE id = ?")
      .run(changes.name ?? null, changes.description ?? null, at, id);
  }

  delete(id: string): boolean {
    return this.db.prepare("DELETE FROM device_groups WHERE id = ?").run(id).changes > 0;
  }

  /** Adds members; ones already present are left as they are. Returns how many were new. */
  addMembers(groupId: string, deviceIds: readonly string[], at: string): number {
    const stmt = this.db.prepare("INSERT OR IGNORE INTO device_group_members (group_id, device_id, added_at) VALUES (?, ?, ?)");
    let added = 0;
    for (const id of deviceIds) added += stmt.run(groupId, id, at).changes;
    return added;
  }

  removeMembers(groupId: string, deviceIds: readonly string[]): number {
    const stmt = this.db.prepare("DELETE FROM device_group_members WHERE group_id = ? AND device_id = ?");
    let removed = 0;
    for (const id of deviceIds) removed += stmt.run(groupId, id).changes;
    return removed;
  }

  members(groupId: string, query: ListQuery): Page<Device> {
    return listPage(
      this.db,
      "devices d JOIN device_group_members m ON m.device_id = d.id",
      qualifyColumns(DEVICE_COLUMNS, "d"),
      query,
      qualify(DEVICE_LIST, "d"),
      (row: DeviceRow) => toDevice(row),
      ["m.group_id = ?"],
      [groupId],
    );
  }
}
