import { randomBytes, X509Certificate } from "node:crypto";
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import type { ApiKey } from "../../control-plane/src/domain/api-key.js";
import type { ConnectKeyInfo } from "../../control-plane/src/domain/connect-key.js";
import type { DeviceGroup } from "../../control-plane/src/domain/device-group.js";
import type { Device, DeviceWithInventory } from "../../control-plane/src/domain/device.js";
import type { AuditEvent } from "../../control-plane/src/domain/event.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import { decodeConnectKey } from "../../shared/src/connect-key.js";
import type { EnrollResponse } from "../../shared/src/protocol/enrollment.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/wait.js";

/** The REST API of a real control plane process, over real HTTPS. One server serves every describe but the body-limit one. */

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; reason: string }[] };
}

let cp: TestControlPlane;
/** A second server with a 1 kB body limit, started alongside the first to keep the file fast. */
let small: TestControlPlane;
let readOnlyKey: string;
let adminKeyId: string;
/** One CSR serves every enrollment: the server ignores its subject and names each device itself. */
let csrPem: string;

beforeAll(async () => {
  [cp, small] = await Promise.all([startControlPlane(), startControlPlane({ env: { TETHER_MAX_BODY: "1kb" } })]);
  csrPem = generateKeyAndCsr("rest-api-test").csrPem;
  const reader = await cp.api<ApiKey & { key: string }>("POST", "/api/v1/api-keys", { name: "reader", role: "read-only" });
  expect(reader.status).toBe(201);
  readOnlyKey = reader.body.key;
  adminKeyId = (await cp.api("GET", "/api/v1/whoami")).body.id;
});
afterAll(() => Promise.all([cp?.cleanup(), small?.cleanup()]));

/** A short random tag, so each test's objects do not collide with another test's on the shared server. */
const tag = () => randomBytes(4).toString("hex");

const SECRET = () => randomBytes(32).toString("base64url");

async function createConnectKey(input: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const res = await cp.api<ConnectKeyInfo & { connectKey: string }>("POST", "/api/v1/connect-keys", { name: `ck-${tag()}`, ...input });
  expect(res.status).toBe(201);
  return { id: res.body.id, secret: decodeConnectKey(res.body.connectKey).secret };
}

function enroll(secret: string, fields: Record<string, unknown> = {}) {
  return cp.api<EnrollResponse>("POST", "/agent/v1/enroll", { connectKeySecret: secret, csrPem, hostname: `host-${tag()}`, platform: "linux", ...fields }, null);
}

/** Enrolls one device with a fresh connect key; returns its id. */
async function enrolled(fields: Record<string, unknown> = {}): Promise<string> {
  const { secret } = await createConnectKey();
  const res = await enroll(secret, fields);
  expect(res.status).toBe(201);
  return res.body.deviceId;
}

async function connectKeyUses(id: string): Promise<number> {
  return (await cp.api<ConnectKeyInfo>("GET", `/api/v1/connect-keys/${id}`)).body.uses;
}

function query(params: Record<string, string | string[]>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) search.append(name, v);
  return `?${search}`;
}

/** Asserts the audit log holds `action` on `objectId`, done by `actorId` from this test's address; returns the event. */
async function expectEvent(action: string, objectType: string, objectId: string, actorId: string = adminKeyId): Promise<AuditEvent> {
  const res = await cp.api<Page<AuditEvent>>("GET", `/api/v1/events${query({ filter: [`action:eq:${action}`, `objectId:eq:${objectId}`] })}`);
  expect(res.status).toBe(200);
  expect(res.body.results).toHaveLength(1);
  const event = res.body.results[0]!;
  expect(event).toMatchObject({ action, object: { type: objectType, id: objectId }, actor: { id: actorId }, remoteAddr: "127.0.0.1" });
  return event;
}

/** A request with a raw body and headers, for what the JSON client cannot send (bad JSON, other content types, no JSON reply). */
function rawRequest(server: TestControlPlane, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; text: string; contentType: string | undefined }>((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, ca: server.caPem, headers: options.headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, contentType: res.headers["content-type"] }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("authentication and roles, for every route in the OpenAPI document", () => {
  it("refuses missing and unknown keys everywhere, and read-only keys where the route needs an admin", async () => {
    const doc = (await cp.api("GET", "/api/v1/openapi.json", undefined, null)).body as {
      paths: Record<string, Record<string, { security?: unknown[]; description?: string }>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, op })));
    const protectedRoutes = routes.filter((r) => r.op.security !== undefined);
    // The document must really list the API, or this test would pass on nothing.
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(20);
    // Without an API key: health, enrollment (connect key in the body), agent routes (client
    // certificate), the portal (its own sessions), and agent downloads with the install scripts.
    expect(routes.filter((r) => r.op.security === undefined).map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      "get /agent/v1/files/{sha256}",
      "get /api/v1/health",
      "get /downloads",
      "get /downloads/SHA256SUMS",
      "get /downloads/{name}",
      "get /install.ps1",
      "get /install.sh",
      "get /portal/v1/me",
      "post /agent/v1/enroll",
      "post /portal/v1/activate",
      "post /portal/v1/login",
      "post /portal/v1/logout",
      "post /portal/v1/mfa/totp",
      "post /portal/v1/mfa/totp/confirm",
      "post /portal/v1/password",
    ]);

    const unknownKey = `tak_${SECRET()}`;
    const problems: string[] = [];
    await Promise.all(
      protectedRoutes.map(async ({ method, path, op }) => {
        const url = path.replace(/\{\w+\}/g, "does-not-exist");
        const roles = /^Roles: (.+)$/.exec(op.description ?? "")?.[1]?.split(", ");
        if (!roles) return problems.push(`${method} ${path}: no "Roles: …" in its description`);
        const mutating = method !== "get";
        if (mutating && roles.includes("read-only")) problems.push(`${method} ${path}: documented as open to read-only keys`);

        const [none, unknown, reader] = await Promise.all([
          cp.api<ErrorBody>(method, url, undefined, null),
          cp.api<ErrorBody>(method, url, undefined, unknownKey),
          cp.api<ErrorBody>(method, url, undefined, readOnlyKey),
        ]);
        if (none.status !== 401 || none.body.error.code !== "unauthorized") problems.push(`${method} ${path} without a key: ${none.status}`);
        if (unknown.status !== 401 || unknown.body.error.code !== "invalid_api_key") problems.push(`${method} ${path} with an unknown key: ${unknown.status}`);
        if (roles.includes("read-only")) {
          if ([401, 403].includes(reader.status) || reader.status >= 500) problems.push(`${method} ${path} with a read-only key: ${reader.status}`);
        } else if (reader.status !== 403 || reader.body.error.code !== "forbidden") {
          problems.push(`${method} ${path} with a read-only key: ${reader.status}, expected 403`);
        }
      }),
    );
    expect(problems).toEqual([]);
  });

  it("accepts the key as Authorization: Bearer too", async () => {
    const res = await rawRequest(cp, "GET", "/api/v1/whoami", { headers: { authorization: `Bearer ${readOnlyKey}` } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ role: "read-only", name: "reader" });
  });
});

describe("api-keys", () => {
  it("shows a new key once, with the tak_ prefix, and never in lists or reads", async () => {
    const created = await cp.api<ApiKey & { key: string }>("POST", "/api/v1/api-keys", { name: `ci-${tag()}`, role: "read-only" });
    expect(created.status).toBe(201);
    const { key, id } = created.body;
    expect(key).toMatch(/^tak_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ role: "read-only", prefix: key.slice(0, 10), revokedAt: null, createdBy: adminKeyId });

    const list = await cp.api<Page<ApiKey>>("GET", "/api/v1/api-keys?limit=1000");
    expect(list.body.results.map((k) => k.id)).toContain(id);
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(list.body.results.every((k) => !("key" in k))).toBe(true);
    const one = await cp.api("GET", `/api/v1/api-keys/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty("key");

    const whoami = await cp.api("GET", "/api/v1/whoami", undefined, key);
    expect(whoami.body).toMatchObject({ id, role: "read-only" });
    await expectEvent("api-key.created", "api-key", id);
  });

  it("refuses an unknown role", async () => {
    const res = await cp.api<ErrorBody>("POST", "/api/v1/api-keys", { name: "x", role: "root" });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.[0]?.field).toBe("role");
  });

  it("revokes a key: it then gets 401 api_key_revoked", async () => {
    const created = await cp.api<ApiKey & { key: string }>("POST", "/api/v1/api-keys", { name: `tmp-${tag()}`, role: "admin" });
    expect((await cp.api("GET", "/api/v1/whoami", undefined, created.body.key)).status).toBe(200);

    const revoked = await cp.api<ApiKey>("DELETE", `/api/v1/api-keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const refused = await cp.api<ErrorBody>("GET", "/api/v1/whoami", undefined, created.body.key);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("api_key_revoked");
    await expectEvent("api-key.revoked", "api-key", created.body.id);
  });

  it("refuses to revoke the last active admin key (409) and the key keeps working", async () => {
    const keys = await cp.api<Page<ApiKey>>("GET", `/api/v1/api-keys${query({ filter: "role:eq:admin", limit: "1000" })}`);
    for (const key of keys.body.results) {
      if (key.id !== adminKeyId && key.revokedAt === null) expect((await cp.api("DELETE", `/api/v1/api-keys/${key.id}`)).status).toBe(200);
    }
    const res = await cp.api<ErrorBody>("DELETE", `/api/v1/api-keys/${adminKeyId}`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("conflict");
    expect((await cp.api("GET", "/api/v1/whoami")).status).toBe(200);
  });
});

describe("connect-keys and enrollment", () => {
  it("creates a key with expiry and use limit that pins this server's CA", async () => {
    const before = Date.now();
    const res = await cp.api<ConnectKeyInfo & { connectKey: string }>("POST", "/api/v1/connect-keys", { name: "laptops", expiresInSeconds: 3600, maxUses: 5 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: "laptops", maxUses: 5, uses: 0, state: "active", revokedAt: null });
    const expiresAt = Date.parse(res.body.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect(decodeConnectKey(res.body.connectKey)).toMatchObject({ url: cp.url, caFingerprint: cp.caFingerprint });
    expect(JSON.stringify((await cp.api("GET", `/api/v1/connect-keys/${res.body.id}`)).body)).not.toContain(res.body.connectKey);
    await expectEvent("connect-key.created", "connect-key", res.body.id);
  });

  it("enrolls a device with a real CSR: the certificate names the device and chains to the CA", async () => {
    const { id, secret } = await createConnectKey({ maxUses: 5 });
    const res = await enroll(secret, { hostname: "enroll-ok" });
    expect(res.status).toBe(201);
    expect(res.body.deviceId).toMatch(/^dev_/);
    const cert = new X509Certificate(res.body.certificatePem);
    expect(cert.subject).toBe(`CN=${res.body.deviceId}`);
    expect(cert.verify(new X509Certificate(cp.caPem).publicKey)).toBe(true);
    expect(res.body.caChainPem.trim()).toBe(cp.caPem.trim());
    expect(await connectKeyUses(id)).toBe(1);
    const event = await expectEvent("device.enrolled", "device", res.body.deviceId, id);
    expect(event.actor.type).toBe("connect-key");
  });

  it("refuses an unknown secret with 401 invalid_connect_key", async () => {
    const res = await cp.api<ErrorBody>("POST", "/agent/v1/enroll", { connectKeySecret: SECRET(), csrPem, hostname: "h", platform: "linux" }, null);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("invalid_connect_key");
  });

  it("refuses a revoked key with 403 connect_key_revoked", async () => {
    const { id, secret } = await createConnectKey();
    const revoked = await cp.api<ConnectKeyInfo>("DELETE", `/api/v1/connect-keys/${id}`);
    expect(revoked.body.state).toBe("revoked");
    await expectEvent("connect-key.revoked", "connect-key", id);
    const res = await enroll(secret);
    expect(res.status).toBe(403);
    expect((res.body as unknown as ErrorBody).error.code).toBe("connect_key_revoked");
  });

  it("refuses a key used up: maxUses 1, second use is 403 connect_key_used_up", async () => {
    const { id, secret } = await createConnectKey({ maxUses: 1 });
    expect((await enroll(secret)).status).toBe(201);
    const second = await enroll(secret);
    expect(second.status).toBe(403);
    expect((second.body as unknown as ErrorBody).error.code).toBe("connect_key_used_up");
    expect((await cp.api<ConnectKeyInfo>("GET", `/api/v1/connect-keys/${id}`)).body).toMatchObject({ uses: 1, state: "used_up" });
  });

  it("refuses an expired key with 403 connect_key_expired", async () => {
    const { id, secret } = await createConnectKey({ expiresInSeconds: 1 });
    await waitFor(async () => (await cp.api<ConnectKeyInfo>("GET", `/api/v1/connect-keys/${id}`)).body.state === "expired", {
      timeoutMs: 5000,
      message: "the connect key to expire",
    });
    const res = await enroll(secret);
    expect(res.status).toBe(403);
    expect((res.body as unknown as ErrorBody).error.code).toBe("connect_key_expired");
  });

  it("refuses a garbage CSR with 400 invalid_csr, without using the key or creating a device", async () => {
    const { id, secret } = await createConnectKey({ maxUses: 1 });
    const hostname = `garbage-${tag()}`;
    const res = await enroll(secret, { hostname, csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n" });
    expect(res.status).toBe(400);
    expect((res.body as unknown as ErrorBody).error.code).toBe("invalid_csr");
    expect(await connectKeyUses(id)).toBe(0);
    expect((await cp.api<Page<Device>>("GET", `/api/v1/devices${query({ filter: `hostname:eq:${hostname}` })}`)).body.totalCount).toBe(0);
    // The key still works for a good CSR.
    expect((await enroll(secret)).status).toBe(201);
  });
});

describe("devices", () => {
  const prefix = `lst${tag()}-`;
  const scope = `hostname:search:${prefix}`;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const { secret } = await createConnectKey();
    for (const [name, platform] of [["web-1", "linux"], ["web-2", "linux"], ["db-1", "windows"], ["mac-1", "darwin"]] as const) {
      const res = await enroll(secret, { hostname: `${prefix}${name}`, platform });
      expect(res.status).toBe(201);
      ids[name] = res.body.deviceId;
    }
  });

  const list = (params: Record<string, string | string[]>) => cp.api<Page<Device>>("GET", `/api/v1/devices${query(params)}`);
  const names = (page: Page<Device>) => page.results.map((d) => d.hostname.slice(prefix.length));

  it("lists enrolled devices as offline, named by their hostname", async () => {
    const res = await list({ filter: scope, sort: "hostname" });
    expect(res.status).toBe(200);
    expect(res.body.totalCount).toBe(4);
    expect(res.body.results.map((d) => d.id).sort()).toEqual(Object.values(ids).sort());
    for (const device of res.body.results) {
      expect(device).toMatchObject({ status: "offline", displayName: device.hostname, lastContact: null });
    }
    expect(res.body.results.find((d) => d.id === ids["db-1"])?.os).toBe("windows");
  });

  it("pages with limit and skip, and counts all matches", async () => {
    const res = await list({ filter: scope, sort: "hostname", limit: "2", skip: "1" });
    expect(res.body.totalCount).toBe(4);
    expect(names(res.body)).toEqual(["mac-1", "web-1"]);
  });

  it("sorts descending with a leading -", async () => {
    expect(names((await list({ filter: scope, sort: "-hostname" })).body)).toEqual(["web-2", "web-1", "mac-1", "db-1"]);
  });

  it("filters with eq, in, search and on status, combined with AND", async () => {
    expect(names((await list({ filter: `hostname:eq:${prefix}web-2` })).body)).toEqual(["web-2"]);
    expect(names((await list({ filter: [scope, "os:in:linux|windows"], sort: "hostname" })).body)).toEqual(["db-1", "web-1", "web-2"]);
    expect(names((await list({ filter: [scope, "status:eq:offline", "os:eq:darwin"] })).body)).toEqual(["mac-1"]);
    expect((await list({ filter: [scope, "status:eq:online"] })).body.totalCount).toBe(0);
    expect(names((await list({ filter: [`hostname:search:${prefix}web`], sort: "-hostname" })).body)).toEqual(["web-2", "web-1"]);
  });

  it.each([
    ["an unknown field", { filter: "serial:eq:1" }, "filter", "serial"],
    ["an unknown operator", { filter: "hostname:like:web" }, "filter", "like"],
    ["a value outside the field's values", { filter: "status:eq:sleeping" }, "filter", "sleeping"],
    ["a filter without an operator", { filter: "hostname" }, "filter", "field:op:value"],
    ["an unsortable field", { sort: "-serial" }, "sort", "serial"],
    ["a limit over the maximum", { limit: "5000" }, "limit", "1000"],
  ])("answers 400 naming the problem for %s", async (_what, params, field, mention) => {
    const res = await cp.api<ErrorBody>("GET", `/api/v1/devices${query(params)}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details?.[0]?.field).toBe(field);
    expect(res.body.error.message).toContain(mention);
  });

  // The tests that change devices use their own, so the list tests above hold in any order.
  it("changes the display name and audits it", async () => {
    const hostname = `rename-${tag()}`;
    const id = await enrolled({ hostname });
    const res = await cp.api<DeviceWithInventory>("PATCH", `/api/v1/devices/${id}`, { displayName: "Front web" });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe("Front web");
    expect((await cp.api<Device>("GET", `/api/v1/devices/${id}`)).body.displayName).toBe("Front web");
    const event = await expectEvent("device.updated", "device", id);
    expect(event.details).toMatchObject({ displayName: { from: hostname, to: "Front web" } });
    expect((await cp.api("PATCH", `/api/v1/devices/${id}`, { displayName: "" })).status).toBe(400);
  });

  it("gets one device with its inventory (none yet) and its groups", async () => {
    const res = await cp.api<DeviceWithInventory>("GET", `/api/v1/devices/${ids["db-1"]}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: ids["db-1"], inventory: null, inventoryUpdatedAt: null, groups: [] });
    expect((await cp.api<ErrorBody>("GET", "/api/v1/devices/dev_nope")).status).toBe(404);
  });

  it("deletes a device: 204, then 404, and a device.deleted event", async () => {
    const hostname = `delete-${tag()}`;
    const id = await enrolled({ hostname });
    const res = await cp.api("DELETE", `/api/v1/devices/${id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    const gone = await cp.api<ErrorBody>("GET", `/api/v1/devices/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("not_found");
    expect((await cp.api("DELETE", `/api/v1/devices/${id}`)).status).toBe(404);
    expect((await list({ filter: `hostname:eq:${hostname}` })).body.totalCount).toBe(0);
    await expectEvent("device.deleted", "device", id);
  });
});

describe("device-groups", () => {
  const group = (id: string) => cp.api<DeviceGroup>("GET", `/api/v1/device-groups/${id}`);
  const create = (name: string, description?: string) => cp.api<DeviceGroup>("POST", "/api/v1/device-groups", { name, ...(description ? { description } : {}) });

  it("creates, reads, renames and deletes a group, auditing each change", async () => {
    const name = `Servers ${tag()}`;
    const created = await create(name, "all servers");
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, description: "all servers", memberCount: 0 });
    const id = created.body.id;
    await expectEvent("device-group.created", "device-group", id);
    expect((await group(id)).body.name).toBe(name);
    const listed = await cp.api<Page<DeviceGroup>>("GET", `/api/v1/device-groups${query({ filter: `name:eq:${name}` })}`);
    expect(listed.body.results.map((g) => g.id)).toEqual([id]);

    const renamed = await cp.api<DeviceGroup>("PATCH", `/api/v1/device-groups/${id}`, { name: `${name} (eu)` });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: `${name} (eu)`, description: "all servers" });
    await expectEvent("device-group.updated", "device-group", id);

    const deviceId = await enrolled();
    await cp.api("POST", `/api/v1/device-groups/${id}/members`, { deviceIds: [deviceId] });
    expect((await cp.api("DELETE", `/api/v1/device-groups/${id}`)).status).toBe(204);
    expect((await group(id)).status).toBe(404);
    await expectEvent("device-group.deleted", "device-group", id);
    // Its devices stay.
    expect((await cp.api<DeviceWithInventory>("GET", `/api/v1/devices/${deviceId}`)).body.groups).toEqual([]);
  });

  it("refuses a duplicate name, whatever its case, on create and rename (409)", async () => {
    const name = `Laptops-${tag()}`;
    expect((await create(name)).status).toBe(201);
    const duplicate = await create(name.toUpperCase());
    expect(duplicate.status).toBe(409);
    expect((duplicate.body as unknown as ErrorBody).error.code).toBe("conflict");
    const other = await create(`Other-${tag()}`);
    expect((await cp.api("PATCH", `/api/v1/device-groups/${other.body.id}`, { name: name.toLowerCase() })).status).toBe(409);
    // Changing only the case of its own name is allowed.
    expect((await cp.api("PATCH", `/api/v1/device-groups/${other.body.id}`, { name: other.body.name.toUpperCase() })).status).toBe(200);
  });

  it("adds and removes members idempotently, and lists them", async () => {
    const id = (await create(`Members-${tag()}`)).body.id;
    const [a, b] = [await enrolled(), await enrolled()];

    const added = await cp.api("POST", `/api/v1/device-groups/${id}/members`, { deviceIds: [a, b, a] });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ changed: 2, group: { id, memberCount: 2 } });
    await expectEvent("device-group.members-added", "device-group", id);
    const again = await cp.api("POST", `/api/v1/device-groups/${id}/members`, { deviceIds: [a, b] });
    expect(again.body).toMatchObject({ changed: 0, group: { memberCount: 2 } });

    const members = await cp.api<Page<Device>>("GET", `/api/v1/device-groups/${id}/members`);
    expect(members.body.totalCount).toBe(2);
    expect(members.body.results.map((d) => d.id).sort()).toEqual([a, b].sort());
    expect((await cp.api<DeviceWithInventory>("GET", `/api/v1/devices/${a}`)).body.groups.map((g) => g.id)).toEqual([id]);

    const removed = await cp.api("POST", `/api/v1/device-groups/${id}/members/remove`, { deviceIds: [a] });
    expect(removed.body).toMatchObject({ changed: 1, group: { memberCount: 1 } });
    await expectEvent("device-group.members-removed", "device-group", id);
    expect((await cp.api("POST", `/api/v1/device-groups/${id}/members/remove`, { deviceIds: [a] })).body.changed).toBe(0);
    expect((await cp.api("DELETE", `/api/v1/device-groups/${id}/members/${b}`)).body).toMatchObject({ changed: 1, group: { memberCount: 0 } });
    expect((await cp.api("DELETE", `/api/v1/device-groups/${id}/members/${b}`)).body.changed).toBe(0);
  });

  it("refuses unknown device ids with 400 and adds none of the list", async () => {
    const id = (await create(`Strict-${tag()}`)).body.id;
    const known = await enrolled();
    const res = await cp.api<ErrorBody>("POST", `/api/v1/device-groups/${id}/members`, { deviceIds: [known, "dev_missing0000"] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("dev_missing0000");
    expect((await group(id)).body.memberCount).toBe(0);
    expect((await cp.api("GET", "/api/v1/device-groups/dg_nope/members")).status).toBe(404);
  });

  it("puts a device into the groups named at enrollment", async () => {
    const name = `Kiosks-${tag()}`;
    const id = (await create(name)).body.id;
    const deviceId = await enrolled({ deviceGroups: [name] });
    expect((await cp.api<DeviceWithInventory>("GET", `/api/v1/devices/${deviceId}`)).body.groups).toEqual([{ id, name }]);
    expect((await group(id)).body.memberCount).toBe(1);
  });

  it("refuses enrollment into an unknown group (400): no device, and the key is not used", async () => {
    const { id, secret } = await createConnectKey();
    const hostname = `nogroup-${tag()}`;
    const res = await enroll(secret, { hostname, deviceGroups: [`Missing-${tag()}`] });
    expect(res.status).toBe(400);
    expect((res.body as unknown as ErrorBody).error.details?.[0]?.field).toBe("deviceGroups");
    expect((await cp.api<Page<Device>>("GET", `/api/v1/devices${query({ filter: `hostname:eq:${hostname}` })}`)).body.totalCount).toBe(0);
    expect(await connectKeyUses(id)).toBe(0);
  });
});

describe("events", () => {
  it("lists newest first by default", async () => {
    const newest = (await cp.api<DeviceGroup>("POST", "/api/v1/device-groups", { name: `Newest-${tag()}` })).body;
    const res = await cp.api<Page<AuditEvent>>("GET", "/api/v1/events?limit=50");
    expect(res.status).toBe(200);
    expect(res.body.results.length).toBeGreaterThan(5);
    expect(res.body.results[0]).toMatchObject({ action: "device-group.created", object: { id: newest.id } });
    const ids = res.body.results.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    const times = res.body.results.map((e) => e.at);
    expect(times).toEqual([...times].sort().reverse());
  });

  it("filters by action and by actor", async () => {
    const byAction = await cp.api<Page<AuditEvent>>("GET", `/api/v1/events${query({ filter: "action:eq:connect-key.created" })}`);
    expect(byAction.body.totalCount).toBeGreaterThan(0);
    expect(new Set(byAction.body.results.map((e) => e.action))).toEqual(new Set(["connect-key.created"]));
    const byActor = await cp.api<Page<AuditEvent>>("GET", `/api/v1/events${query({ filter: "actorType:eq:connect-key", limit: "1000" })}`);
    expect(byActor.body.results.length).toBeGreaterThan(0);
    expect(new Set(byActor.body.results.map((e) => e.action))).toEqual(new Set(["device.enrolled"]));
  });

  it("is readable with a read-only key", async () => {
    expect((await cp.api("GET", "/api/v1/events?limit=1", undefined, readOnlyKey)).status).toBe(200);
  });
});

describe("bad input", () => {
  const post = (body: string, contentType: string) =>
    rawRequest(cp, "POST", "/api/v1/device-groups", { body, headers: { "content-type": contentType, "x-api-key": cp.adminApiKey } });

  it("answers malformed JSON with 400 invalid_json", async () => {
    const res = await post('{"name": "half', "application/json");
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.code).toBe("invalid_json");
  });

  it.each(["text/plain", "application/x-www-form-urlencoded"])("answers a body sent as %s with 415", async (type) => {
    const res = await post("name=plain", type);
    expect(res.status).toBe(415);
    expect(JSON.parse(res.text).error.code).toBe("unsupported_media_type");
  });

  it("answers a body that breaks the schema with 400 naming the field", async () => {
    const missing = await cp.api<ErrorBody>("POST", "/api/v1/device-groups", { description: "no name" });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details?.map((d) => d.field)).toContain("name");
    const extra = await cp.api<ErrorBody>("POST", "/api/v1/device-groups", { name: `x-${tag()}`, colour: "red" });
    expect(extra.status).toBe(400);
  });

  it("answers unknown routes with a 404 JSON error", async () => {
    for (const [method, path] of [["GET", "/api/v1/nope"], ["POST", "/api/v1/devices"], ["GET", "/"]] as const) {
      const res = await rawRequest(cp, method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.contentType).toMatch(/^application\/json/);
      expect(JSON.parse(res.text).error.code).toBe("no_such_route");
    }
  });

  it("has answered nothing with a 500 and still answers /health", async () => {
    const health = await cp.api("GET", "/api/v1/health", undefined, null);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: "ok" });
    const metrics = await rawRequest(cp, "GET", "/metrics");
    expect(metrics.text).toMatch(/tether_http_requests_total\{[^}]*status="4\d\d"/);
    expect(metrics.text).not.toMatch(/tether_http_requests_total\{[^}]*status="5\d\d"/);
  });
});

describe("body size limit", () => {
  it("answers a body over TETHER_MAX_BODY with 413 and keeps serving", async () => {
    const big = await small.api<ErrorBody>("POST", "/api/v1/device-groups", { name: "big", description: "x".repeat(2000) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("payload_too_large");
    expect(big.body.error.message).toContain("1kb");
    expect((await small.api("POST", "/api/v1/device-groups", { name: "small", description: "x".repeat(500) })).status).toBe(201);
    expect((await small.api("GET", "/api/v1/health", undefined, null)).status).toBe(200);
  });
});

describe("metrics and the OpenAPI document", () => {
  it("serves Prometheus metrics", async () => {
    const res = await rawRequest(cp, "GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain/);
    for (const name of ["tether_http_requests_total", "tether_agents_connected", "nodejs_eventloop_lag_p99_seconds"]) {
      expect(res.text).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? `, "m"));
    }
    expect(res.text).toMatch(/^tether_agents_connected 0$/m);
  });

  it("serves an OpenAPI 3 document of the routes", async () => {
    const res = await cp.api("GET", "/api/v1/openapi.json", undefined, null);
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(res.body.paths["/api/v1/devices"])).toContain("get");
    expect(Object.keys(res.body.paths["/api/v1/devices/{id}"]).sort()).toEqual(["delete", "get", "patch"]);
  });
});
