import type { Inventory, MachineFingerprint } from "../../../shared/src/protocol/inventory.js";
import { DEVICE_LIST, type Device, type DeviceStatus, type DeviceWithInventory } from "../domain/device.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";
import { StatementCache } from "./statements.js";

export interface DeviceRow {
  id: string;
  display_name: string;
  hostname: string;
  os: string;
  os_version: string;
  arch: string;
  agent_version: string;
  status: DeviceStatus;
  last_contact: string | null;
  remote_ip: string | null;
  enrolled_at: string;
  cert_not_after: string;
  clone_suspected_at: string | null;
  desired_revision: number;
}

export const DEVICE_COLUMNS =
  "id, display_name, hostname, os, os_version, arch, agent_version, status, last_contact, remote_ip, enrolled_at, cert_not_after, clone_suspected_at, desired_revision";

export function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    displayName: row.display_name,
    hostname: row.hostname,
    os: row.os,
    osVersion: row.os_version,
    arch: row.arch,
    agentVersion: row.agent_version,
    status: row.status,
    lastContact: row.last_contact,
    remoteIp: row.remote_ip,
    enrolledAt: row.enrolled_at,
    certificateExpiresAt: row.cert_not_after,
    cloneSuspectedAt: row.clone_suspected_at,
    desiredRevision: row.desired_revision,
  };
}

export interface NewDevice {
  id: string;
  displayName: string;
  hostname: string;
  os: string;
  enrolledAt: string;
  connectKeyId: string;
  certSerial: string;
  certNotAfter: string;
}

export interface SessionFacts {
  hostname: string;
  os: string;
  arch: string;
  agentVersion: string;
  protocolVersion: number;
  remoteIp: string | null;
}

export class DeviceStore {
  private readonly statements: StatementCache;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  insert(device: NewDevice): Device {
    this.statements
      .prepare(
        "INSERT INTO devices (id, display_name, hostname, os, enrolled_at, connect_key_id, cert_serial, cert_not_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(device.id, device.displayName, device.hostname, device.os, device.enrolledAt, device.connectKeyId, device.certSerial, device.certNotAfter);
    return this.get(device.id)!;
  }

  get(id: string): Device | undefined {
    const row = this.statements.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`).get(id) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  getWithInventory(id: string): DeviceWithInventory | undefined {
    const device = this.get(id);
    if (!device) return undefined;
    const inv = this.statements.prepare("SELECT inventory, updated_at FROM device_inventory WHERE device_id = ?").get(id) as
      | { inventory: string; updated_at: string }
      | undefined;
    const groups = this.statements
      .prepare(
        "SELECT g.id, g.name FROM device_groups g JOIN device_group_members m ON m.group_id = g.id WHERE m.device_id = ? ORDER BY g.name",
      )
      .all(id) as { id: string; name: string }[];
    return {
      ...device,
      inventory: inv ? (JSON.parse(inv.inventory) as Inventory) : null,
      inventoryUpdatedAt: inv?.updated_at ?? null,
      groups,
    };
  }

  list(query: ListQuery): Page<Device> {
    return listPage(this.db, "devices", DEVICE_COLUMNS, query, DEVICE_LIST, toDevice);
  }

  existing(ids: readonly string[]): Set<string> {
    return new Set(this.osOf(ids).keys());
  }

  /** The OS of each of these devices that exists, in one query however many there are. */
  osOf(ids: readonly string[]): Map<string, string> {
    const rows = this.statements.prepare("SELECT id, os FROM devices WHERE id IN (SELECT value FROM json_each(?))").all(JSON.stringify(ids)) as { id: string; os: string }[];
    return new Map(rows.map((r) => [r.id, r.os]));
  }

  setDisplayName(id: string, displayName: string): void {
    this.statements.prepare("UPDATE devices SET display_name = ? WHERE id = ?").run(displayName, id);
  }

  /** Deletes the device and everything hanging off it, and remembers the id as revoked. */
  delete(id: string, at: string): boolean {
    const removed = this.statements.prepare("DELETE FROM devices WHERE id = ?").run(id).changes > 0;
    if (removed) this.statements.prepare("INSERT OR REPLACE INTO device_revocations (device_id, revoked_at) VALUES (?, ?)").run(id, at);
    return removed;
  }

  isRevoked(id: string): boolean {
    return this.statements.prepare("SELECT 1 FROM device_revocations WHERE device_id = ?").get(id) !== undefined;
  }

  machine(id: string): MachineFingerprint | null {
    const row = this.statements.prepare("SELECT machine FROM devices WHERE id = ?").get(id) as { machine: string | null } | undefined;
    return row?.machine ? (JSON.parse(row.machine) as MachineFingerprint) : null;
  }

  markOnline(id: string, facts: SessionFacts, machine: MachineFingerprint, at: string): void {
    this.statements
      .prepare(
        `UPDATE devices SET status = 'online', last_contact = ?, hostname = ?, os = ?, arch = ?, agent_version = ?,
           protocol_version = ?, remote_ip = ?, machine = ? WHERE id = ?`,
      )
      .run(at, facts.hostname, facts.os, facts.arch, facts.agentVersion, facts.protocolVersion, facts.remoteIp, JSON.stringify(machine), id);
  }

  markOffline(id: string, at: string): void {
    this.statements.prepare("UPDATE devices SET status = 'offline', last_contact = ? WHERE id = ?").run(at, id);
  }

  /** At start-up nobody is connected yet, whatever the last run left behind. */
  markAllOffline(): void {
    this.statements.prepare("UPDATE devices SET status = 'offline' WHERE status <> 'offline'").run();
  }

  touch(ids: readonly string[], at: string): void {
    const stmt = this.statements.prepare("UPDATE devices SET last_contact = ? WHERE id = ?");
    for (const id of ids) stmt.run(at, id);
  }

  flagClone(id: string, at: string): void {
    this.statements.prepare("UPDATE devices SET clone_suspected_at = ? WHERE id = ?").run(at, id);
  }

  saveInventory(id: string, inventory: Inventory, at: string): void {
    this.statements
      .prepare(
        "INSERT INTO device_inventory (device_id, inventory, updated_at) VALUES (?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET inventory = excluded.inventory, updated_at = excluded.updated_at",
      )
      .run(id, JSON.stringify(inventory), at);
    const version = [inventory.os.distro, inventory.os.release].filter(Boolean).join(" ");
    this.statements.prepare("UPDATE devices SET hostname = ?, os_version = ? WHERE id = ?").run(inventory.hostname, version, id);
  }

  setCertificate(id: string, serial: string, notAfter: string): void {
    this.statements.prepare("UPDATE devices SET cert_serial = ?, cert_not_after = ? WHERE id = ?").run(serial, notAfter, id);
  }
}
