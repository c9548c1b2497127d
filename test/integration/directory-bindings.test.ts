import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import type { ApiKey } from "../../control-plane/src/domain/api-key.js";
import type { BindingChange, EffectiveUser, ReachedDevice } from "../../control-plane/src/domain/binding.js";
import type { ConnectKeyInfo } from "../../control-plane/src/domain/connect-key.js";
import type { DeviceWithInventory } from "../../control-plane/src/domain/device.js";
import type { AuditEvent } from "../../control-plane/src/domain/event.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { UserGroup } from "../../control-plane/src/domain/user-group.js";
import type { User } from "../../control-plane/src/domain/user.js";
import { decodeConnectKey } from "../../shared/src/connect-key.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

/** User groups, bindings, effective users and desired-state revisions, over real HTTPS against a real control plane process. */

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; reason: string }[] };
}

let cp: TestControlPlane;
let readOnlyKey: string;
let csrPem: string;
let connectKeySecret: string;

beforeAll(async () => {
  cp = await startControlPlane();
  csrPem = generateKeyAndCsr("directory-test").csrPem;
  readOnlyKey = (await cp.api<ApiKey & { key: string }>("POST", "/api/v1/api-keys", { name: "reader", role: "read-only" })).body.key;
  const key = await cp.api<ConnectKeyInfo & { connectKey: string }>("POST", "/api/v1/connect-keys", { name: "directory" });
  connectKeySecret = decodeConnectKey(key.body.connectKey).secret;
});
afterAll(() => cp?.cleanup());

const tag = () => randomBytes(4).toString("hex");

async function device(): Promise<string> {
  const res = await cp.api("POST", "/agent/v1/enroll", { connectKeySecret, csrPem, hostname: `host-${tag()}`, platform: "linux" }, null);
  expect(res.status).toBe(201);
  return res.body.deviceId as string;
}

async function user(fields: Record<string, unknown> = {}): Promise<User> {
  const name = `u${tag()}`;
  const res = await cp.api<User>("POST", "/api/v1/users", { username: name, email: `${name}@example.com`, ...fields });
  expect(res.status).toBe(201);
  return res.body;
}

async function userGroup(fields: Record<string, unknown> = {}): Promise<UserGroup> {
  const res = await cp.api<UserGroup>("POST", "/api/v1/user-groups", { name: `group ${tag()}`, ...fields });
  expect(res.status).toBe(201);
  return res.body;
}

async function deviceGroup(deviceIds: string[]): Promise<string> {
  const res = await cp.api("POST", "/api/v1/device-groups", { name: `dg ${tag()}` });
  if (deviceIds.length > 0) expect((await cp.api("POST", `/api/v1/device-groups/${res.body.id}/members`, { deviceIds })).status).toBe(200);
  return res.body.id as string;
}

async function revisionsOf(ids: string[]): Promise<number[]> {
  return Promise.all(ids.map(async (id) => (await cp.api<DeviceWithInventory>("GET", `/api/v1/devices/${id}`)).body.desiredRevision));
}

/** Runs `change`, then returns how far each device's revision moved. */
async function moved(ids: string[], change: () => Promise<unknown>): Promise<number[]> {
  const before = await revisionsOf(ids);
  await change();
  const after = await revisionsOf(ids);
  return after.map((rev, i) => rev - before[i]!);
}

async function events(action: string, objectId: string): Promise<AuditEvent[]> {
  const q = new URLSearchParams([
    ["filter", `action:eq:${action}`],
    ["filter", `objectId:eq:${objectId}`],
  ]);
  return (await cp.api<Page<AuditEvent>>("GET", `/api/v1/events?${q}`)).body.results;
}

const put = (path: string, body: unknown = {}) => cp.api<BindingChange>("PUT", `/api/v1${path}`, body);

describe("user groups", () => {
  it("creates with defaults, reads, lists, patches only what is given, and deletes — each audited", async () => {
    const created = await userGroup({ description: "operators", customAttributes: [{ name: "costCenter", value: "42" }] });
    expect(created).toMatchObject({
      description: "operators",
      attributes: { sudo: { enabled: false, withoutPassword: false }, posixGroup: null, samba: { enabled: false } },
      customAttributes: [{ name: "costCenter", value: "42" }],
      memberCount: 0,
    });
    expect(created.id).toMatch(/^ug_/);
    expect((await cp.api("GET", `/api/v1/user-groups/${created.id}`)).body).toEqual(created);
    const listed = await cp.api<Page<UserGroup>>("GET", `/api/v1/user-groups?filter=${encodeURIComponent(`name:eq:${created.name}`)}`);
    expect(listed.body.results.map((g) => g.id)).toEqual([created.id]);

    const patched = await cp.api<UserGroup>("PATCH", `/api/v1/user-groups/${created.id}`, { attributes: { sudo: { enabled: true, withoutPassword: true } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ description: "operators", attributes: { sudo: { enabled: true, withoutPassword: true }, posixGroup: null }, customAttributes: [{ name: "costCenter" }] });
    const posix = await cp.api<UserGroup>("PATCH", `/api/v1/user-groups/${created.id}`, { attributes: { posixGroup: { name: `g${tag()}`, gid: 42_000 + Math.floor(Math.random() * 1000) } } });
    expect(posix.body.attributes.sudo).toEqual({ enabled: true, withoutPassword: true });
    expect((await cp.api<UserGroup>("PATCH", `/api/v1/user-groups/${created.id}`, { attributes: { posixGroup: null } })).body.attributes.posixGroup).toBeNull();

    expect((await cp.api("DELETE", `/api/v1/user-groups/${created.id}`)).status).toBe(204);
    expect((await cp.api<ErrorBody>("GET", `/api/v1/user-groups/${created.id}`)).status).toBe(404);
    for (const action of ["user-group.created", "user-group.deleted"]) expect(await events(action, created.id)).toHaveLength(1);
    expect(await events("user-group.updated", created.id)).toHaveLength(3);
  });

  it("keeps names unique regardless of case, and Linux group names and gids unique", async () => {
    const gid = 50_000 + Math.floor(Math.random() * 10_000);
    const first = await userGroup({ attributes: { posixGroup: { name: `p${tag()}`, gid } } });
    const dup = await cp.api<ErrorBody>("POST", "/api/v1/user-groups", { name: first.name.toUpperCase() });
    expect(dup.status).toBe(409);
    expect(dup.body.error.details).toEqual([{ field: "name", reason: "already in use" }]);
    const sameGid = await cp.api<ErrorBody>("POST", "/api/v1/user-groups", { name: `x${tag()}`, attributes: { posixGroup: { name: `q${tag()}`, gid } } });
    expect(sameGid.status).toBe(409);
    expect(sameGid.body.error.details?.[0]?.field).toBe("attributes.posixGroup.gid");
    const sameName = await cp.api<ErrorBody>("POST", "/api/v1/user-groups", { name: `x${tag()}`, attributes: { posixGroup: { name: first.attributes.posixGroup!.name } } });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error.details?.[0]?.field).toBe("attributes.posixGroup.name");
  });

  it.each([
    [{ attributes: { posixGroup: { name: "Dev Ops" } } }, "attributes.posixGroup.name"],
    [{ attributes: { posixGroup: { name: "sudo" } } }, "attributes.posixGroup.name"],
    [{ attributes: { posixGroup: { name: "devs", gid: 999 } } }, "attributes.posixGroup.gid"],
    [{ attributes: { sudo: { enabled: "yes" } } }, "attributes.sudo.enabled"],
    [{ customAttributes: [{ name: "a", value: "1" }, { name: "A", value: "2" }] }, "customAttributes.1.name"],
    [{ colour: "red" }, "body"],
  ])("refuses %j naming %s", async (fields, field) => {
    const res = await cp.api<ErrorBody>("POST", "/api/v1/user-groups", { name: `bad ${tag()}`, ...fields });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.map((d) => d.field)).toContain(field);
  });

  it("adds and removes members idempotently, in bulk, and refuses unknown users without adding any", async () => {
    const group = await userGroup();
    const [a, b] = await Promise.all([user(), user()]);
    const added = await cp.api("POST", `/api/v1/user-groups/${group.id}/members`, { userIds: [a.id, b.id, a.id] });
    expect(added.body).toMatchObject({ changed: 2, group: { memberCount: 2 } });
    expect((await cp.api("POST", `/api/v1/user-groups/${group.id}/members`, { userIds: [a.id, b.id] })).body.changed).toBe(0);
    expect(await events("user-group.members-added", group.id)).toHaveLength(1);

    const unknown = await cp.api<ErrorBody>("POST", `/api/v1/user-groups/${group.id}/members`, { userIds: ["usr_missing"] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ field: "userIds", reason: 'no user with id "usr_missing"' }]);

    const members = await cp.api<Page<User>>("GET", `/api/v1/user-groups/${group.id}/members?sort=-username`);
    expect(members.body.totalCount).toBe(2);
    expect(members.body.results.map((u) => u.username)).toEqual([a.username, b.username].sort().reverse());
    expect((await cp.api<Page<UserGroup>>("GET", `/api/v1/users/${a.username}/user-groups`)).body.results.map((g) => g.id)).toEqual([group.id]);

    expect((await cp.api("POST", `/api/v1/user-groups/${group.id}/members/remove`, { userIds: [a.id, "usr_missing"] })).body.changed).toBe(1);
    expect((await cp.api("DELETE", `/api/v1/user-groups/${group.id}/members/${b.id}`)).body).toMatchObject({ changed: 1, group: { memberCount: 0 } });
    expect((await cp.api("DELETE", `/api/v1/user-groups/${group.id}/members/${b.id}`)).body.changed).toBe(0);
    expect((await cp.api("GET", "/api/v1/user-groups/ug_nope/members")).status).toBe(404);
  });
});

describe("bindings and effective users", () => {
  it("lists a device's users with compiled attributes and every path; and a user's devices", async () => {
    const [web, other] = await Promise.all([device(), device()]);
    const servers = await deviceGroup([web, other]);
    const alice = await user({ sshKeys: [{ name: "laptop", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop" }] });
    const ops = await userGroup({ attributes: { sudo: { enabled: true, withoutPassword: true }, posixGroup: { name: `ops${tag()}`, gid: 61_000 + Math.floor(Math.random() * 1000) } } });
    await cp.api("POST", `/api/v1/user-groups/${ops.id}/members`, { userIds: [alice.id] });

    const direct = await put(`/users/${alice.username}/devices/${web}`, { sudo: { enabled: true, withoutPassword: false } });
    expect(direct.status).toBe(200);
    expect(direct.body.binding).toMatchObject({ subject: { type: "user", id: alice.id }, object: { type: "device", id: web }, sudo: { enabled: true, withoutPassword: false } });
    expect((await put(`/user-groups/${ops.id}/device-groups/${servers}`)).status).toBe(200);

    const res = await cp.api<Page<EffectiveUser>>("GET", `/api/v1/devices/${web}/users`);
    expect(res.status).toBe(200);
    expect(res.body.totalCount).toBe(1);
    const [entry] = res.body.results;
    expect(entry!.user).toEqual({ id: alice.id, username: alice.username });
    expect(entry!.paths.map((p) => [p.level, p.nodes.map((n) => n.type)])).toEqual([
      ["user", ["user", "device"]],
      ["group-to-group", ["user", "user-group", "device-group", "device"]],
    ]);
    expect(entry!.paths[1]!.nodes[1]).toEqual({ type: "user-group", id: ops.id, name: ops.name });
    // The direct binding (with a password) outranks the group's passwordless sudo.
    expect(entry!.compiledAttributes).toMatchObject({
      sudo: { enabled: true, withoutPassword: false, decidedBy: "user" },
      sshKeys: [{ name: "laptop", publicKey: expect.stringMatching(/^ssh-ed25519 /) }],
      groups: [ops.attributes.posixGroup],
      unixUid: alice.unixUid,
      unixGid: alice.unixGid,
      shell: alice.shell,
      state: "staged",
    });

    const reached = await cp.api<Page<ReachedDevice>>("GET", `/api/v1/users/${alice.id}/devices`);
    expect(reached.body.results.map((d) => [d.device.id, d.sudo.withoutPassword, d.paths.length]).sort()).toEqual(
      [
        [web, false, 2],
        [other, true, 1],
      ].sort(),
    );

    const listed = await cp.api<Page<unknown>>("GET", `/api/v1/bindings?filter=subjectId:eq:${ops.id}`);
    expect(listed.body.results).toEqual([{ subject: { type: "user-group", id: ops.id }, object: { type: "device-group", id: servers }, sudo: null, createdAt: expect.any(String) }]);
  });

  it("treats PUT as idempotent (a new sudo updates the edge) and DELETE as idempotent", async () => {
    const [d, u] = await Promise.all([device(), user()]);
    const path = `/users/${u.id}/devices/${d}`;
    expect((await put(path)).body).toMatchObject({ devicesAffected: 1, binding: { sudo: null } });
    expect((await put(path)).body.devicesAffected).toBe(0);
    const changed = await put(path, { sudo: { enabled: true, withoutPassword: true } });
    expect(changed.body).toMatchObject({ devicesAffected: 1, binding: { sudo: { enabled: true, withoutPassword: true } } });
    expect(await events("binding.added", u.id)).toHaveLength(1);
    expect(await events("binding.updated", u.id)).toHaveLength(1);
    expect((await cp.api("DELETE", `/api/v1${path}`)).status).toBe(204);
    expect((await cp.api("DELETE", `/api/v1${path}`)).status).toBe(204);
    expect(await events("binding.removed", u.id)).toHaveLength(1);
    expect((await cp.api<Page<EffectiveUser>>("GET", `/api/v1/devices/${d}/users`)).body.totalCount).toBe(0);
  });

  it("answers 404 for unknown ends and 400 for a bad sudo", async () => {
    const [d, u] = await Promise.all([device(), user()]);
    const noUser = await cp.api<ErrorBody>("PUT", `/api/v1/users/usr_nope/devices/${d}`, {});
    expect([noUser.status, noUser.body.error.message]).toEqual([404, 'no user with id "usr_nope"']);
    expect((await cp.api<ErrorBody>("PUT", `/api/v1/users/${u.id}/device-groups/dg_nope`, {})).status).toBe(404);
    expect((await cp.api<ErrorBody>("DELETE", `/api/v1/user-groups/ug_nope/devices/${d}`)).status).toBe(404);
    expect((await cp.api<ErrorBody>("GET", "/api/v1/devices/dev_nope/users")).status).toBe(404);
    expect((await cp.api<ErrorBody>("GET", "/api/v1/users/usr_nope/devices")).status).toBe(404);
    const bad = await cp.api<ErrorBody>("PUT", `/api/v1/users/${u.id}/devices/${d}`, { sudo: { enabled: true, withoutPassword: "no" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details?.[0]?.field).toBe("sudo.withoutPassword");
  });

  it("lists suspended users with their state", async () => {
    const [d, u] = await Promise.all([device(), user()]);
    await put(`/users/${u.id}/devices/${d}`);
    expect((await cp.api("POST", `/api/v1/users/${u.id}/suspend`)).status).toBe(200);
    const res = await cp.api<Page<EffectiveUser>>("GET", `/api/v1/devices/${d}/users`);
    expect(res.body.results.map((e) => e.compiledAttributes.state)).toEqual(["suspended"]);
  });
});

describe("desired-state revisions", () => {
  it("move for exactly the devices a change reaches", async () => {
    const [d1, d2, d3, d4] = await Promise.all([device(), device(), device(), device()]);
    const all = [d1, d2, d3, d4];
    const servers = await deviceGroup([d1, d2]);
    const [alice, bob] = await Promise.all([user(), user()]);
    const ops = await userGroup();
    await cp.api("POST", `/api/v1/user-groups/${ops.id}/members`, { userIds: [alice.id] });

    expect(await moved(all, () => put(`/user-groups/${ops.id}/device-groups/${servers}`))).toEqual([1, 1, 0, 0]);
    expect(await moved(all, () => put(`/user-groups/${ops.id}/device-groups/${servers}`))).toEqual([0, 0, 0, 0]);
    expect(await moved(all, () => put(`/users/${bob.id}/devices/${d3}`))).toEqual([0, 0, 1, 0]);
    expect(await moved(all, () => put(`/users/${bob.id}/device-groups/${servers}`, { sudo: { enabled: true } }))).toEqual([1, 1, 0, 0]);
    expect(await moved(all, () => cp.api("PATCH", `/api/v1/user-groups/${ops.id}`, { attributes: { sudo: { enabled: true } } }))).toEqual([1, 1, 0, 0]);
    expect(await moved(all, () => cp.api("PATCH", `/api/v1/user-groups/${ops.id}`, { description: "no device sees this" }))).toEqual([0, 0, 0, 0]);
    expect(await moved(all, () => cp.api("POST", `/api/v1/user-groups/${ops.id}/members`, { userIds: [bob.id] }))).toEqual([1, 1, 0, 0]);
    expect(await moved(all, () => cp.api("POST", `/api/v1/device-groups/${servers}/members`, { deviceIds: [d4] }))).toEqual([0, 0, 0, 1]);
    expect(await moved(all, () => cp.api("POST", `/api/v1/device-groups/${servers}/members/remove`, { deviceIds: [d4, d3] }))).toEqual([0, 0, 0, 1]);
    // A change to bob the devices see (sudo) reaches his devices: d3 directly, d1 and d2 through servers.
    expect(await moved(all, () => cp.api("PATCH", `/api/v1/users/${bob.id}`, { sudo: true }))).toEqual([1, 1, 1, 0]);
    expect(await moved(all, () => cp.api("DELETE", `/api/v1/users/${bob.id}`))).toEqual([1, 1, 1, 0]);
    expect((await cp.api<Page<unknown>>("GET", `/api/v1/bindings?filter=subjectId:eq:${bob.id}`)).body.totalCount).toBe(0);
    expect(await moved(all, () => cp.api("DELETE", `/api/v1/device-groups/${servers}`))).toEqual([1, 1, 0, 0]);
    expect((await cp.api<Page<unknown>>("GET", `/api/v1/bindings?filter=subjectId:eq:${ops.id}`)).body.totalCount).toBe(0);
  });
});

describe("roles", () => {
  it("lets read-only keys read effective users and bindings but not change them; refuses requests without a key", async () => {
    const [d, u] = await Promise.all([device(), user()]);
    const group = await userGroup();
    for (const path of [`/api/v1/devices/${d}/users`, `/api/v1/users/${u.id}/devices`, "/api/v1/bindings", "/api/v1/user-groups", `/api/v1/user-groups/${group.id}/members`]) {
      expect((await cp.api("GET", path, undefined, readOnlyKey)).status).toBe(200);
      expect((await cp.api("GET", path, undefined, null)).status).toBe(401);
    }
    for (const [method, path, body] of [
      ["PUT", `/api/v1/users/${u.id}/devices/${d}`, {}],
      ["DELETE", `/api/v1/user-groups/${group.id}/devices/${d}`, undefined],
      ["POST", `/api/v1/user-groups/${group.id}/members`, { userIds: [u.id] }],
      ["PATCH", `/api/v1/user-groups/${group.id}`, { description: "x" }],
    ] as const) {
      const res = await cp.api<ErrorBody>(method, path, body, readOnlyKey);
      expect([res.status, res.body.error.code]).toEqual([403, "forbidden"]);
    }
  });
});
