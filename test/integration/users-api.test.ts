import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../control-plane/src/domain/api-key.js";
import type { AuditEvent } from "../../control-plane/src/domain/event.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { ActivationLink, User } from "../../control-plane/src/domain/user.js";
import { requestJson } from "../../shared/src/http-client.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { waitFor } from "../helpers/wait.js";

/** The users API of a real control plane process over HTTPS, with a real SMTP server process for activation mail. */

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; reason: string }[] };
}

interface Reply<T> {
  status: number;
  body: T;
  etag: string | undefined;
}

let cp: TestControlPlane;
/** A second server whose activation links last 2 s, for expiry. */
let shortLived: TestControlPlane;
let smtp: SmtpSink;
let readOnlyKey: string;

/** Every response body seen, checked at the end for password hashes. */
const bodies: string[] = [];

const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  smtp = await startSmtpSink();
  [cp, shortLived] = await Promise.all([
    startControlPlane({ env: { TETHER_SMTP_URL: smtp.url, TETHER_SMTP_FROM: "Tether <tether@example.test>" } }),
    startControlPlane({ env: { TETHER_ACTIVATION_TTL: "2s" } }),
  ]);
  const reader = await cp.api<ApiKey & { key: string }>("POST", "/api/v1/api-keys", { name: "reader", role: "read-only" });
  readOnlyKey = reader.body.key;
});
afterAll(() => Promise.all([cp?.cleanup(), shortLived?.cleanup(), smtp?.stop()]));

const tag = () => randomBytes(4).toString("hex");

/** One request, with headers in and out (the ETag), recording the body. The key defaults to the admin key; null sends none. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call<T = any>(
  method: string,
  path: string,
  options: { body?: unknown; key?: string | null; headers?: Record<string, string>; server?: TestControlPlane } = {},
): Promise<Reply<T>> {
  const server = options.server ?? cp;
  const key = options.key === undefined ? server.adminApiKey : options.key;
  const response = await requestJson<T>({
    url: `${server.url}${path}`,
    method,
    body: options.body,
    ca: server.caPem,
    headers: { ...(key ? { "x-api-key": key } : {}), ...options.headers },
  });
  bodies.push(response.text);
  const etag = response.headers.etag;
  return { status: response.status, body: response.body as T, etag: typeof etag === "string" ? etag : undefined };
}

function newUser(fields: Record<string, unknown> = {}) {
  const name = `u${tag()}`;
  return { username: name, email: `${name}@example.com`, ...fields };
}

async function created(fields: Record<string, unknown> = {}, server?: TestControlPlane): Promise<User> {
  const res = await call<User>("POST", "/api/v1/users", { body: newUser(fields), server });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function events(filter: Record<string, string>): Promise<AuditEvent[]> {
  const query = Object.entries(filter)
    .map(([field, value]) => `filter=${encodeURIComponent(`${field}:eq:${value}`)}`)
    .join("&");
  return (await call<Page<AuditEvent>>("GET", `/api/v1/events?${query}&limit=1000`)).body.results;
}

function expectProblem(res: Reply<unknown>, status: number, code: string, field?: string): ErrorBody["error"] {
  const error = (res.body as ErrorBody).error;
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(error.code).toBe(code);
  if (field) expect(error.details?.map((d) => d.field)).toContain(field);
  return error;
}

describe("create and read", () => {
  it("creates a user with a password as activated, with defaults, an ETag and no hash", async () => {
    const res = await call<User>("POST", "/api/v1/users", { body: newUser({ password: PASSWORD, firstname: "Ada", lastname: "Lovelace" }) });
    expect(res.status).toBe(201);
    expect(res.etag).toBe('"1"');
    expect(res.body).toMatchObject({
      state: "activated",
      hasPassword: true,
      firstname: "Ada",
      shell: "/bin/bash",
      sudo: false,
      accountLocked: false,
      sshKeys: [],
      employeeIdentifier: null,
      mfa: { required: false, enrollmentDays: 7, enrollmentDeadline: null, status: "not_enrolled" },
      version: 1,
    });
    expect(res.body.unixUid).toBeGreaterThanOrEqual(5000);
    expect(res.body.unixGid).toBe(res.body.unixUid);
    expect(Object.keys(res.body).filter((k) => /hash|crypt|^password$/i.test(k))).toEqual([]);

    const [event] = await events({ action: "user.created", objectId: res.body.id });
    expect(event!.details).toMatchObject({ username: res.body.username, passwordSet: true });
  });

  it("creates a user without a password as staged, and gives each new user the next uid", async () => {
    const a = await created();
    const b = await created();
    expect(a).toMatchObject({ state: "staged", hasPassword: false, passwordSetAt: null });
    expect(b.unixUid).toBe(a.unixUid + 1);
  });

  it("keeps every field given", async () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl laptop";
    const fields = {
      middlename: "King",
      displayname: "Ada L.",
      sudo: true,
      passwordlessSudo: true,
      sshKeys: [{ name: "laptop", publicKey: key }],
      unixUid: 70_000 + Math.floor(Math.random() * 10_000),
      unixGid: 4242,
      shell: "/bin/zsh",
      passwordNeverExpires: true,
      attributes: [{ name: "team", value: "engines" }],
      jobTitle: "Analyst",
      department: "Engines",
      company: "ACME",
      costCenter: "CC-1",
      employeeType: "contractor",
      employeeIdentifier: `E-${tag()}`,
      location: "London",
      alternateEmail: "ada@example.org",
      phoneNumbers: [{ type: "mobile", number: "+44 20 7946 0000" }],
      addresses: [{ type: "work", streetAddress: "1 Main St", locality: "London", region: "LDN", postalCode: "N1", country: "GB" }],
      description: "first programmer",
      mfa: { required: true, enrollmentDays: 14 },
    };
    const user = await created(fields);
    const { mfa: _mfa, sshKeys: _sshKeys, addresses, ...rest } = fields;
    expect(user).toMatchObject(rest);
    expect(user.sshKeys).toEqual([{ name: "laptop", publicKey: key, fingerprint: expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43}$/) }]);
    expect(user.addresses).toEqual([{ ...addresses[0], poBox: "" }]);
    expect(user.mfa).toMatchObject({ required: true, enrollmentDays: 14, status: "pending" });
    expect(Date.parse(user.mfa.enrollmentDeadline!) - Date.parse(user.createdAt)).toBe(14 * 86_400_000);
  });

  it("gets a user by id or by username, and lists with filters and sorting", async () => {
    const department = `dept-${tag()}`;
    const a = await created({ department, lastname: "B" });
    const b = await created({ department, lastname: "A", password: PASSWORD });
    expect((await call<User>("GET", `/api/v1/users/${a.id}`)).body.username).toBe(a.username);
    const byName = await call<User>("GET", `/api/v1/users/${b.username.toUpperCase()}`);
    expect(byName.body.id).toBe(b.id);
    expect(byName.etag).toBe('"1"');

    const list = await call<Page<User>>("GET", `/api/v1/users?filter=department:eq:${department}&sort=lastname`);
    expect(list.body.totalCount).toBe(2);
    expect(list.body.results.map((u) => u.id)).toEqual([b.id, a.id]);
    const staged = await call<Page<User>>("GET", `/api/v1/users?filter=department:eq:${department}&filter=state:eq:staged`);
    expect(staged.body.results.map((u) => u.id)).toEqual([a.id]);
    const byEmail = await call<Page<User>>("GET", `/api/v1/users?filter=email:eq:${a.email.toUpperCase()}`);
    expect(byEmail.body.results.map((u) => u.id)).toEqual([a.id]);
    expectProblem(await call("GET", "/api/v1/users?filter=state:eq:gone"), 400, "validation_failed", "filter");
    expectProblem(await call("GET", "/api/v1/users/nobody-here"), 404, "not_found");
  });
});

describe("validation", () => {
  it.each([
    ["an upper-case username", { username: "Ada" }, "username"],
    ["a reserved username", { username: "administrator" }, "username"],
    ["a username too long for Windows", { username: "a".repeat(21) }, "username"],
    ["a username starting with a digit", { username: "1ada" }, "username"],
    ["a username ending in a dot", { username: "ada." }, "username"],
    ["a bad email", { email: "not-an-email" }, "email"],
    ["a uid below 1000", { unixUid: 0 }, "unixUid"],
    ["a relative shell", { shell: "bash" }, "shell"],
    ["an unknown field", { favouriteColour: "blue" }, "body"],
    ["a truncated RSA key", { sshKeys: [{ name: "old", publicKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDA" }] }, "sshKeys.0.publicKey"],
    ["a key whose data is of another type", { sshKeys: [{ name: "k", publicKey: "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" }] }, "sshKeys.0.publicKey"],
  ])("refuses %s with 400 naming the field", async (_name, fields, field) => {
    expectProblem(await call("POST", "/api/v1/users", { body: { ...newUser(), ...fields } }), 400, "validation_failed", field);
  });

  it("refuses the same SSH key twice, even under other names", async () => {
    const publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    const res = await call("POST", "/api/v1/users", { body: newUser({ sshKeys: [{ name: "a", publicKey }, { name: "b", publicKey: `${publicKey} other-comment` }] }) });
    const error = expectProblem(res, 400, "validation_failed", "sshKeys.1");
    expect(error.message).toContain("appears twice");
  });

  it("applies the password policy with a clear message", async () => {
    const user = newUser();
    const short = expectProblem(await call("POST", "/api/v1/users", { body: { ...user, password: "short" } }), 400, "validation_failed", "password");
    expect(short.message).toBe("password: must be at least 12 characters long (it has 5)");
    const withName = expectProblem(await call("POST", "/api/v1/users", { body: { ...user, password: `${user.username.toUpperCase()}-2024-long` } }), 400, "validation_failed", "password");
    expect(withName.message).toContain("must not contain the username");
    // Nothing was written.
    expectProblem(await call("GET", `/api/v1/users/${user.username}`), 404, "not_found");
  });
});

describe("uniqueness", () => {
  it("refuses a taken username, and an email that differs only in case (409 naming the field)", async () => {
    const user = await created();
    const sameName = expectProblem(await call("POST", "/api/v1/users", { body: { username: user.username, email: `other-${tag()}@example.com` } }), 409, "conflict", "username");
    expect(sameName.message).toBe(`another user already has the username "${user.username}" (compared without case)`);
    expectProblem(await call("POST", "/api/v1/users", { body: { ...newUser(), email: user.email.toUpperCase() } }), 409, "conflict", "email");
    const other = await created();
    expectProblem(await call("PATCH", `/api/v1/users/${other.id}`, { body: { email: user.email.toUpperCase() } }), 409, "conflict", "email");
  });

  it("refuses a taken employee identifier or uid", async () => {
    const user = await created({ employeeIdentifier: `emp-${tag()}` });
    expectProblem(await call("POST", "/api/v1/users", { body: newUser({ employeeIdentifier: user.employeeIdentifier!.toUpperCase() }) }), 409, "conflict", "employeeIdentifier");
    expectProblem(await call("POST", "/api/v1/users", { body: newUser({ unixUid: user.unixUid }) }), 409, "conflict", "unixUid");
    // Many users may have none.
    await created({ employeeIdentifier: null });
    await created({ employeeIdentifier: null });
  });
});

describe("PATCH", () => {
  it("changes only the fields given and bumps the version", async () => {
    const user = await created({ jobTitle: "Engineer", department: "R&D" });
    const res = await call<User>("PATCH", `/api/v1/users/${user.id}`, { body: { department: "Ops", sudo: true } });
    expect(res.status).toBe(200);
    expect(res.etag).toBe('"2"');
    expect(res.body).toMatchObject({ department: "Ops", sudo: true, jobTitle: "Engineer", email: user.email, version: 2 });
    const [event] = await events({ action: "user.updated", objectId: user.id });
    expect(event!.details).toEqual({ username: user.username, fields: ["department", "sudo"] });
    expectProblem(await call("PATCH", `/api/v1/users/${user.id}`, { body: {} }), 400, "validation_failed");
  });

  it("sets a password (staged → activated), audited by name only", async () => {
    const user = await created();
    const res = await call<User>("PATCH", `/api/v1/users/${user.id}`, { body: { password: PASSWORD } });
    expect(res.body).toMatchObject({ state: "activated", hasPassword: true });
    const [event] = await events({ action: "user.updated", objectId: user.id });
    expect(event!.details).toEqual({ username: user.username, fields: ["password"] });
    expect(JSON.stringify(event)).not.toContain(PASSWORD);
  });

  it("honours If-Match: the current ETag passes, a stale one gets 412, * and no header always pass", async () => {
    const user = await created();
    const first = await call<User>("PATCH", `/api/v1/users/${user.id}`, { body: { location: "Paris" }, headers: { "if-match": '"1"' } });
    expect(first.status).toBe(200);
    expect(first.etag).toBe('"2"');
    const stale = await call<User>("PATCH", `/api/v1/users/${user.id}`, { body: { location: "Rome" }, headers: { "if-match": '"1"' } });
    expect(expectProblem(stale, 412, "precondition_failed").message).toContain('"2"');
    expectProblem(await call("PATCH", `/api/v1/users/${user.id}`, { body: { location: "Rome" }, headers: { "if-match": 'W/"2"' } }), 412, "precondition_failed");
    expectProblem(await call("PATCH", `/api/v1/users/${user.id}`, { body: { location: "Rome" }, headers: { "if-match": "2" } }), 400, "validation_failed", "If-Match");
    expect((await call<User>("GET", `/api/v1/users/${user.id}`)).body.location).toBe("Paris");
    expect((await call("PATCH", `/api/v1/users/${user.id}`, { body: { location: "Oslo" }, headers: { "if-match": '"9", "2"' } })).status).toBe(200);
    expect((await call("PATCH", `/api/v1/users/${user.id}`, { body: { location: "Rome" }, headers: { "if-match": "*" } })).status).toBe(200);
    expectProblem(await call("DELETE", `/api/v1/users/${user.id}`, { headers: { "if-match": '"2"' } }), 412, "precondition_failed");
    expect((await call("DELETE", `/api/v1/users/${user.id}`, { headers: { "if-match": '"4"' } })).status).toBe(204);
  });

  it("keeps every one of many concurrent PATCHes of different fields, a password among them", async () => {
    const user = await created();
    const changes: Record<string, unknown>[] = [
      { password: PASSWORD },
      { department: "Ops" },
      { jobTitle: "SRE" },
      { company: "ACME" },
      { costCenter: "CC-9" },
      { location: "Berlin" },
      { employeeType: "staff" },
      { description: "on call" },
      { sudo: true },
      { shell: "/bin/zsh" },
      { displayname: "Someone" },
      { attributes: [{ name: "floor", value: "3" }] },
    ];
    const replies = await Promise.all(changes.map((body) => call<User>("PATCH", `/api/v1/users/${user.id}`, { body })));
    expect(replies.map((r) => r.status)).toEqual(changes.map(() => 200));
    const final = (await call<User>("GET", `/api/v1/users/${user.id}`)).body;
    const { password: _password, ...fields } = Object.assign({}, ...changes) as Record<string, unknown>;
    expect(final).toMatchObject({ ...fields, state: "activated", hasPassword: true, version: 1 + changes.length });
  });
});

describe("actions", () => {
  it("suspends and activates, idempotently, audited once each", async () => {
    const user = await created({ password: PASSWORD });
    const suspended = await call<User>("POST", `/api/v1/users/${user.id}/suspend`);
    expect(suspended.body.state).toBe("suspended");
    expect(suspended.etag).toBe('"2"');
    expect((await call<User>("POST", `/api/v1/users/${user.id}/suspend`)).body.version).toBe(2);
    expect((await call<User>("POST", `/api/v1/users/${user.id}/activate`)).body.state).toBe("activated");
    expect(await events({ action: "user.suspended", objectId: user.id })).toHaveLength(1);
    expect(await events({ action: "user.activated", objectId: user.id })).toHaveLength(1);
  });

  it("unlocks, expires the password and resets MFA", async () => {
    const user = await created({ password: PASSWORD, accountLocked: true, mfa: { required: true, enrollmentDays: 3 } });
    expect((await call<User>("POST", `/api/v1/users/${user.id}/unlock`)).body.accountLocked).toBe(false);

    const before = Date.now();
    const expired = (await call<User>("POST", `/api/v1/users/${user.id}/expire-password`)).body;
    expect(Date.parse(expired.passwordExpiresAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(expired.passwordExpiresAt!)).toBeLessThanOrEqual(Date.now());

    const reset = (await call<User>("POST", `/api/v1/users/${user.id}/reset-mfa`)).body;
    expect(reset.mfa.status).toBe("pending");
    expect(Date.parse(reset.mfa.enrollmentDeadline!)).toBeGreaterThanOrEqual(before + 3 * 86_400_000 - 1000);
    for (const action of ["user.unlocked", "user.password-expired", "user.mfa-reset"]) expect(await events({ action, objectId: user.id })).toHaveLength(1);

    const staged = await created();
    expectProblem(await call("POST", `/api/v1/users/${staged.id}/expire-password`), 409, "conflict");
  });

  it("deletes a user (then 404), audited", async () => {
    const user = await created();
    expect((await call("DELETE", `/api/v1/users/${user.id}`)).status).toBe(204);
    expectProblem(await call("GET", `/api/v1/users/${user.id}`), 404, "not_found");
    expectProblem(await call("DELETE", `/api/v1/users/${user.id}`), 404, "not_found");
    expect(await events({ action: "user.deleted", objectId: user.id })).toHaveLength(1);
  });
});

describe("roles", () => {
  it("lets read-only keys read but not write, and refuses callers without a key", async () => {
    const user = await created();
    expect((await call("GET", "/api/v1/users", { key: readOnlyKey })).status).toBe(200);
    expect((await call("GET", `/api/v1/users/${user.id}`, { key: readOnlyKey })).status).toBe(200);
    const writes: [string, string, unknown?][] = [
      ["POST", "/api/v1/users", newUser()],
      ["PATCH", `/api/v1/users/${user.id}`, { department: "x" }],
      ["DELETE", `/api/v1/users/${user.id}`],
      ...["suspend", "activate", "unlock", "expire-password", "reset-mfa", "activation"].map((a): [string, string] => ["POST", `/api/v1/users/${user.id}/${a}`]),
    ];
    for (const [method, path, body] of writes) {
      expectProblem(await call(method, path, { body, key: readOnlyKey }), 403, "forbidden");
      expectProblem(await call(method, path, { body, key: null }), 401, "unauthorized");
    }
    expectProblem(await call("GET", "/api/v1/users", { key: null }), 401, "unauthorized");
    expect((await call<User>("GET", `/api/v1/users/${user.id}`)).body.version).toBe(1);
  });
});

describe("activation links", () => {
  it("mails a one-time link that sets the password and activates the user", async () => {
    const user = await created({ firstname: "Grace" });
    const link = await call<ActivationLink>("POST", `/api/v1/users/${user.id}/activation`);
    expect(link.status).toBe(201);
    expect(link.body.url).toBe(`${cp.url}/portal/activate?token=${link.body.token}`);
    expect(link.body.email).toEqual({ to: user.email, sent: true, error: null });
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeGreaterThan(71 * 3600_000);

    const mail = await waitFor(() => smtp.messages.find((m) => m.to.includes(user.email)), { message: "the activation mail" });
    expect(mail.from).toBe("tether@example.test");
    expect(mail.text).toContain("Hello Grace,");
    expect(mail.text).toContain(link.body.url);

    const weak = await call("POST", "/portal/v1/activate", { body: { token: link.body.token, password: "too short" }, key: null });
    expectProblem(weak, 400, "validation_failed", "password");
    const redeemed = await call("POST", "/portal/v1/activate", { body: { token: link.body.token, password: PASSWORD }, key: null });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body).toEqual({ username: user.username, state: "activated" });
    expect((await call<User>("GET", `/api/v1/users/${user.id}`)).body).toMatchObject({ state: "activated", hasPassword: true });

    expectProblem(await call("POST", "/portal/v1/activate", { body: { token: link.body.token, password: `${PASSWORD}!` }, key: null }), 410, "activation_token_used");
    expectProblem(await call("POST", `/api/v1/users/${user.id}/activation`), 409, "conflict", "password");
    const [event] = await events({ action: "user.activated", objectId: user.id });
    expect(event!.details).toMatchObject({ via: "activation-link" });
  });

  it("ends earlier links when a new one is made, and refuses unknown tokens", async () => {
    const user = await created();
    const first = (await call<ActivationLink>("POST", `/api/v1/users/${user.id}/activation`)).body;
    const second = (await call<ActivationLink>("POST", `/api/v1/users/${user.id}/activation`)).body;
    expectProblem(await call("POST", "/portal/v1/activate", { body: { token: first.token, password: PASSWORD }, key: null }), 400, "invalid_activation_token");
    expectProblem(await call("POST", "/portal/v1/activate", { body: { token: "nope", password: PASSWORD }, key: null }), 400, "invalid_activation_token");
    expect((await call("POST", "/portal/v1/activate", { body: { token: second.token, password: PASSWORD }, key: null })).status).toBe(200);
  });

  it("refuses links for suspended users, and links of users suspended since", async () => {
    const user = await created();
    const link = (await call<ActivationLink>("POST", `/api/v1/users/${user.id}/activation`)).body;
    await call("POST", `/api/v1/users/${user.id}/suspend`);
    expectProblem(await call("POST", "/portal/v1/activate", { body: { token: link.token, password: PASSWORD }, key: null }), 403, "user_suspended");
    expectProblem(await call("POST", `/api/v1/users/${user.id}/activation`), 409, "conflict", "state");
  });

  it("refuses an expired link (TETHER_ACTIVATION_TTL=2s) and, without SMTP, only returns the link", async () => {
    const user = await created({}, shortLived);
    const link = await call<ActivationLink>("POST", `/api/v1/users/${user.id}/activation`, { server: shortLived });
    expect(link.body.email).toBeNull();
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeLessThanOrEqual(2000);
    await sleep(2500);
    const res = await call("POST", "/portal/v1/activate", { body: { token: link.body.token, password: PASSWORD }, key: null, server: shortLived });
    expectProblem(res, 410, "activation_token_expired");
    expect((await call<User>("GET", `/api/v1/users/${user.id}`, { server: shortLived })).body.state).toBe("staged");
  });
});

describe("secrets", () => {
  it("never sent a password hash in any response, the audit log included", async () => {
    const log = await call("GET", "/api/v1/events?limit=1000");
    expect(log.body.totalCount).toBeGreaterThan(20);
    expect(bodies.length).toBeGreaterThan(50);
    for (const body of bodies) {
      expect(body).not.toContain("$6$");
      expect(body).not.toContain("scrypt");
      expect(body).not.toContain(PASSWORD);
    }
  });
});
