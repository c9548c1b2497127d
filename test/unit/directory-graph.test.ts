import { beforeEach, describe, expect, it } from "vitest";
import { systemContext } from "../../control-plane/src/domain/actor.js";
import type { Sudo } from "../../control-plane/src/domain/user-group.js";
import { BindingService } from "../../control-plane/src/services/bindings.js";
import { DeviceGroupService } from "../../control-plane/src/services/device-groups.js";
import { DeviceRevisions } from "../../control-plane/src/services/device-revisions.js";
import { UserGroupService } from "../../control-plane/src/services/user-groups.js";
import type { Edge } from "../../control-plane/src/store/bindings.js";
import { openDatabase, type Db } from "../../control-plane/src/store/db.js";
import { createStores, type Stores } from "../../control-plane/src/store/index.js";

/**
 * The graph's SQL and the revision bumps, on a real SQLite database with the real migrations:
 * every kind of change bumps exactly the devices whose users it alters, once, and no other.
 */

const ctx = systemContext(new Date("2026-03-01T10:00:00Z"));
const GRANT: Sudo = { enabled: true, withoutPassword: false };

let db: Db;
let stores: Stores;
let revisions: DeviceRevisions;
let userGroups: UserGroupService;
let bindings: BindingService;
let deviceGroups: DeviceGroupService;
let uid = 5000;

function addUser(username: string, fields: { sudo?: boolean; state?: string } = {}): string {
  const id = `u_${username}`;
  db.prepare(
    `INSERT INTO users (id, username, email, state, sudo, unix_uid, unix_gid, shell, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, '/bin/bash', ?, ?)`,
  ).run(id, username, `${username}@example.com`, fields.state ?? "activated", fields.sudo ? 1 : 0, uid, uid++, ctx.now.toISOString(), ctx.now.toISOString());
  return id;
}

function addDevice(name: string): string {
  const id = `dev_${name}`;
  stores.devices.insert({ id, displayName: name, hostname: name, os: "linux", enrolledAt: ctx.now.toISOString(), connectKeyId: "ck", certSerial: name, certNotAfter: "2027-01-01T00:00:00Z" });
  return id;
}

const edge = (subjectType: Edge["subjectType"], subjectId: string, objectType: Edge["objectType"], objectId: string): Edge => ({ subjectType, subjectId, objectType, objectId });

/** Runs `change` and returns the devices whose revision moved, with by how much. */
function bumpedBy(change: () => unknown): Record<string, number> {
  const before = revisionsNow();
  change();
  const after = revisionsNow();
  return Object.fromEntries(Object.entries(after).flatMap(([id, rev]) => (rev !== (before[id] ?? 0) ? [[id.replace("dev_", ""), rev - (before[id] ?? 0)]] : [])));
}

function revisionsNow(): Record<string, number> {
  const rows = db.prepare("SELECT id, desired_revision FROM devices").all() as { id: string; desired_revision: number }[];
  return Object.fromEntries(rows.map((r) => [r.id, r.desired_revision]));
}

beforeEach(() => {
  db = openDatabase(":memory:");
  stores = createStores(db);
  revisions = new DeviceRevisions(stores);
  userGroups = new UserGroupService(stores, revisions);
  bindings = new BindingService(stores, revisions);
  deviceGroups = new DeviceGroupService(stores, revisions);
});

describe("paths from SQL", () => {
  it("finds all four kinds of path, with names, and compiles them", () => {
    const alice = addUser("alice");
    const web = addDevice("web");
    const servers = deviceGroups.create(ctx, { name: "servers", description: "" });
    deviceGroups.addMembers(ctx, servers.id, [web]);
    const ops = userGroups.create(ctx, { name: "ops", description: "", attributes: { sudo: GRANT, posixGroup: { name: "ops", gid: 7000 }, samba: { enabled: false } }, customAttributes: [] });
    userGroups.addMembers(ctx, ops.id, [alice]);

    bindings.put(ctx, edge("user", alice, "device", web), null);
    bindings.put(ctx, edge("user", alice, "device-group", servers.id), null);
    bindings.put(ctx, edge("user-group", ops.id, "device", web), { enabled: false, withoutPassword: false });
    bindings.put(ctx, edge("user-group", ops.id, "device-group", servers.id), null);

    const users = bindings.usersOfDevice(web, { limit: 100, skip: 0 });
    expect(users.totalCount).toBe(1);
    const [entry] = users.results;
    expect(entry!.paths.map((p) => [p.level, p.sudo, p.nodes.map((n) => `${n.type}:${n.name}`).join(" > ")])).toEqual([
      ["user", null, "user:alice > device:web"],
      ["group", null, "user:alice > device-group:servers > device:web"],
      ["group", { enabled: false, withoutPassword: false }, "user:alice > user-group:ops > device:web"],
      ["group-to-group", GRANT, "user:alice > user-group:ops > device-group:servers > device:web"],
    ]);
    // The user-group↔device binding's refusal is more specific than ops' sudo through the device group.
    expect(entry!.compiledAttributes).toMatchObject({ sudo: { enabled: false, decidedBy: "group" }, groups: [{ name: "ops", gid: 7000 }], unixUid: 5000, state: "activated" });

    const reached = bindings.devicesOfUser(alice, { limit: 100, skip: 0 });
    expect(reached.results.map((d) => [d.device.displayName, d.paths.length, d.sudo.enabled])).toEqual([["web", 4, false]]);
  });

  it("computes many devices in one call, and none for a device nobody is bound to", () => {
    const [a, b] = [addUser("a"), addUser("b")];
    const [d1, d2, d3] = [addDevice("d1"), addDevice("d2"), addDevice("d3")];
    bindings.put(ctx, edge("user", a, "device", d1), GRANT);
    bindings.put(ctx, edge("user", b, "device", d1), null);
    bindings.put(ctx, edge("user", b, "device", d2), null);
    const all = bindings.effectiveUsersOf([d1, d2, d3]);
    expect([...all].map(([device, users]) => [device, users.map((u) => u.user.username)])).toEqual([
      [d1, ["a", "b"]],
      [d2, ["b"]],
    ]);
  });

  it("pages the effective users (limit, skip) with the full count", () => {
    const device = addDevice("web");
    for (const name of ["carol", "alice", "bob"]) bindings.put(ctx, edge("user", addUser(name), "device", device), null);
    const page = bindings.usersOfDevice(device, { limit: 2, skip: 1 });
    expect(page.totalCount).toBe(3);
    expect(page.results.map((u) => u.user.username)).toEqual(["bob", "carol"]);
  });
});

describe("revision bumps", () => {
  let alice: string, bob: string, carol: string;
  let web: string, db1: string, lap: string, spare: string;
  let servers: string, laptops: string, ops: string, empty: string;

  beforeEach(() => {
    [alice, bob, carol] = [addUser("alice"), addUser("bob"), addUser("carol")];
    [web, db1, lap, spare] = [addDevice("web"), addDevice("db1"), addDevice("lap"), addDevice("spare")];
    servers = deviceGroups.create(ctx, { name: "servers", description: "" }).id;
    laptops = deviceGroups.create(ctx, { name: "laptops", description: "" }).id;
    deviceGroups.addMembers(ctx, servers, [web, db1]);
    deviceGroups.addMembers(ctx, laptops, [lap]);
    ops = userGroups.create(ctx, { name: "ops", description: "", attributes: { sudo: { enabled: false, withoutPassword: false }, posixGroup: null, samba: { enabled: false } }, customAttributes: [] }).id;
    empty = userGroups.create(ctx, { name: "empty", description: "", attributes: { sudo: GRANT, posixGroup: null, samba: { enabled: false } }, customAttributes: [] }).id;
    userGroups.addMembers(ctx, ops, [alice, bob]);
  });

  it("a user↔device binding: added, repeated, changed, removed", () => {
    expect(bumpedBy(() => bindings.put(ctx, edge("user", carol, "device", lap), null))).toEqual({ lap: 1 });
    expect(bumpedBy(() => bindings.put(ctx, edge("user", carol, "device", lap), null))).toEqual({});
    expect(bumpedBy(() => bindings.put(ctx, edge("user", carol, "device", lap), GRANT))).toEqual({ lap: 1 });
    expect(bumpedBy(() => bindings.remove(ctx, edge("user", carol, "device", lap)))).toEqual({ lap: 1 });
    expect(bumpedBy(() => bindings.remove(ctx, edge("user", carol, "device", lap)))).toEqual({});
  });

  it("a group-to-group binding bumps the device group's members; an empty user group's bumps nothing", () => {
    expect(bumpedBy(() => bindings.put(ctx, edge("user-group", ops, "device-group", servers), null))).toEqual({ web: 1, db1: 1 });
    expect(bumpedBy(() => bindings.put(ctx, edge("user-group", empty, "device-group", laptops), GRANT))).toEqual({});
    expect(bumpedBy(() => bindings.put(ctx, edge("user", carol, "device-group", laptops), null))).toEqual({ lap: 1 });
  });

  it("user-group membership bumps the group's bound devices; with a Linux group, every device of the users", () => {
    bindings.put(ctx, edge("user-group", ops, "device-group", servers), null);
    bindings.put(ctx, edge("user", carol, "device", lap), null);
    expect(bumpedBy(() => userGroups.addMembers(ctx, ops, [carol]))).toEqual({ web: 1, db1: 1 });
    expect(bumpedBy(() => userGroups.addMembers(ctx, ops, [carol]))).toEqual({});
    expect(bumpedBy(() => userGroups.removeMembers(ctx, ops, [carol, "u_nobody"]))).toEqual({ web: 1, db1: 1 });

    const devs = userGroups.create(ctx, { name: "devs", description: "", attributes: { sudo: { enabled: false, withoutPassword: false }, posixGroup: { name: "devs", gid: null }, samba: { enabled: false } }, customAttributes: [] }).id;
    // devs is bound nowhere, but its Linux group follows carol onto lap.
    expect(bumpedBy(() => userGroups.addMembers(ctx, devs, [carol]))).toEqual({ lap: 1 });
    expect(bumpedBy(() => userGroups.removeMembers(ctx, devs, [carol]))).toEqual({ lap: 1 });
  });

  it("user-group attributes: sudo bumps bound devices, the Linux group every device of the members, a rename nothing", () => {
    bindings.put(ctx, edge("user-group", ops, "device", lap), null);
    bindings.put(ctx, edge("user", alice, "device", spare), null);
    expect(bumpedBy(() => userGroups.update(ctx, ops, { attributes: { sudo: GRANT } }))).toEqual({ lap: 1 });
    expect(bumpedBy(() => userGroups.update(ctx, ops, { attributes: { sudo: GRANT } }))).toEqual({});
    expect(bumpedBy(() => userGroups.update(ctx, ops, { name: "operations", description: "x", customAttributes: [{ name: "cost", value: "1" }] }))).toEqual({});
    expect(bumpedBy(() => userGroups.update(ctx, ops, { attributes: { posixGroup: { name: "ops", gid: 7100 } } }))).toEqual({ lap: 1, spare: 1 });
    expect(bumpedBy(() => userGroups.update(ctx, empty, { attributes: { sudo: { enabled: false, withoutPassword: false } } }))).toEqual({});
  });

  it("deleting a user group bumps what it reached and drops its bindings", () => {
    bindings.put(ctx, edge("user-group", ops, "device-group", servers), null);
    expect(bumpedBy(() => userGroups.delete(ctx, ops))).toEqual({ web: 1, db1: 1 });
    expect(stores.bindings.list({ limit: 100, skip: 0, sort: [], filters: [] }).totalCount).toBe(0);
  });

  it("device-group membership bumps exactly the devices that join or leave a bound group", () => {
    bindings.put(ctx, edge("user-group", ops, "device-group", servers), null);
    expect(bumpedBy(() => deviceGroups.addMembers(ctx, servers, [web, lap]))).toEqual({ lap: 1 });
    expect(bumpedBy(() => deviceGroups.addMembers(ctx, laptops, [spare]))).toEqual({});
    expect(bumpedBy(() => deviceGroups.removeMembers(ctx, servers, [lap, spare]))).toEqual({ lap: 1 });
    expect(bumpedBy(() => deviceGroups.delete(ctx, servers))).toEqual({ web: 1, db1: 1 });
    expect(bumpedBy(() => deviceGroups.delete(ctx, laptops))).toEqual({});
  });

  it("a change a device sees through several paths bumps it once", () => {
    bindings.put(ctx, edge("user", alice, "device", web), null);
    bindings.put(ctx, edge("user-group", ops, "device-group", servers), null);
    bindings.put(ctx, edge("user", alice, "device-group", servers), null);
    expect(bumpedBy(() => revisions.usersChanged([alice, alice]))).toEqual({ web: 1, db1: 1 });
  });

  it("usersChanged bumps every device of the users and nothing else", () => {
    bindings.put(ctx, edge("user-group", ops, "device", lap), null);
    bindings.put(ctx, edge("user", bob, "device-group", servers), null);
    bindings.put(ctx, edge("user", carol, "device", spare), null);
    expect(bumpedBy(() => revisions.usersChanged([alice]))).toEqual({ lap: 1 });
    expect(bumpedBy(() => revisions.usersChanged([bob]))).toEqual({ lap: 1, web: 1, db1: 1 });
    expect(bumpedBy(() => revisions.usersChanged(["u_unknown"]))).toEqual({});
  });

  it("after a user is deleted, usersChanged bumps the devices they were on and removes their edges", () => {
    bindings.put(ctx, edge("user-group", ops, "device", lap), null);
    bindings.put(ctx, edge("user", alice, "device", spare), null);
    db.prepare("DELETE FROM users WHERE id = ?").run(alice);
    expect(bumpedBy(() => revisions.usersChanged([alice]))).toEqual({ lap: 1, spare: 1 });
    expect(db.prepare("SELECT COUNT(*) AS n FROM bindings WHERE subject_id = ?").get(alice)).toEqual({ n: 0 });
    expect(db.prepare("SELECT COUNT(*) AS n FROM user_group_members WHERE user_id = ?").get(alice)).toEqual({ n: 0 });
    expect(userGroups.get(ops).memberCount).toBe(1);
  });

  it("a deleted device takes its bindings along", () => {
    bindings.put(ctx, edge("user", alice, "device", spare), null);
    stores.devices.delete(spare, ctx.now.toISOString());
    expect(stores.bindings.list({ limit: 100, skip: 0, sort: [], filters: [] }).totalCount).toBe(0);
  });

  it("a failed change bumps nothing: the bump is in the change's transaction", () => {
    bindings.put(ctx, edge("user-group", ops, "device-group", servers), null);
    expect(bumpedBy(() => expect(() => userGroups.addMembers(ctx, ops, [carol, "u_missing"])).toThrow(/no such user/))).toEqual({});
    expect(userGroups.get(ops).memberCount).toBe(2);
  });
});
