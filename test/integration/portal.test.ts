import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../control-plane/src/domain/api-key.js";
import type { AuditEvent } from "../../control-plane/src/domain/event.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { PortalMfa, PortalProfile, PortalSession, TotpEnrollment } from "../../control-plane/src/domain/portal.js";
import type { User } from "../../control-plane/src/domain/user.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { oathtool, PASSWORD, portalCall, secretOf } from "../helpers/portal.js";

/**
 * The user portal of a real control plane process over HTTPS: TOTP enrollment checked with oathtool,
 * sign-in with codes, sessions, password changes, and the admin side of MFA.
 */

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; reason: string }[] };
}

let cp: TestControlPlane;
let readOnlyKey: string;

beforeAll(async () => {
  // Rate limits out of the way: this file signs in often from one address; the brute-force file tests them.
  cp = await startControlPlane({ env: { TETHER_PORTAL_LOGIN_RATE_ACCOUNT: "50/1m", TETHER_PORTAL_LOGIN_RATE_IP: "500/1m" } });
  readOnlyKey = (await cp.api<ApiKey & { key: string }>("POST", "/api/v1/api-keys", { name: "reader", role: "read-only" })).body.key;
});
afterAll(() => cp?.cleanup());

const tag = () => randomBytes(4).toString("hex");
const portal = <T = unknown>(method: string, path: string, body?: unknown, token?: string) => portalCall<T>(cp, method, path, body, token);

async function createUser(fields: Record<string, unknown> = {}): Promise<User> {
  const name = `u${tag()}`;
  const res = await cp.api<User>("POST", "/api/v1/users", { username: name, email: `${name}@example.com`, password: PASSWORD, ...fields });
  expect(res.status).toBe(201);
  return res.body;
}

async function login(user: User, password = PASSWORD, code?: string): Promise<string> {
  const res = await portal<PortalSession>("POST", "/portal/v1/login", { login: user.username, password, ...(code ? { code } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.token;
}

async function events(action: string, objectId: string): Promise<AuditEvent[]> {
  const query = new URLSearchParams([["filter", `action:eq:${action}`], ["filter", `objectId:eq:${objectId}`]]);
  return (await cp.api<Page<AuditEvent>>("GET", `/api/v1/events?${query}`)).body.results;
}

/** Starts and confirms TOTP enrollment with oathtool; returns the secret from the otpauth:// URI. */
async function enroll(token: string): Promise<string> {
  const start = await portal<TotpEnrollment>("POST", "/portal/v1/mfa/totp", undefined, token);
  expect(start.status).toBe(201);
  const secret = secretOf(start.body.uri);
  const confirmed = await portal<PortalMfa>("POST", "/portal/v1/mfa/totp/confirm", { code: oathtool(secret) }, token);
  expect(confirmed.body).toEqual({ status: "enrolled", enrollmentRequired: false, deadline: null });
  return secret;
}

describe("TOTP enrollment and sign-in with codes", () => {
  it("enrolls with oathtool's code for the secret in the otpauth:// URI, then wants a code at every sign-in, each once", async () => {
    const user = await createUser();
    const patched = await cp.api<User>("PATCH", `/api/v1/users/${user.id}`, { mfa: { required: true, enrollmentDays: 3 } });
    expect(patched.body.mfa).toMatchObject({ required: true, enrollmentDays: 3, status: "pending" });
    expect(Date.parse(patched.body.mfa.enrollmentDeadline!) - Date.now()).toBeGreaterThan(3 * 86_400_000 - 60_000);

    const first = await portal<PortalSession>("POST", "/portal/v1/login", { login: user.email.toUpperCase(), password: PASSWORD });
    expect(first.status).toBe(200);
    expect(first.headers["cache-control"]).toBe("no-store");
    expect(first.body.mfa).toEqual({ status: "pending", enrollmentRequired: true, deadline: patched.body.mfa.enrollmentDeadline });
    const token = first.body.token;

    const start = await portal<TotpEnrollment>("POST", "/portal/v1/mfa/totp", undefined, token);
    expect(start.status).toBe(201);
    expect(start.headers["cache-control"]).toBe("no-store");
    expect(start.body.uri).toMatch(new RegExp(`^otpauth://totp/Tether:${user.username}\\?secret=[A-Z2-7]{32}&issuer=Tether&algorithm=SHA1&digits=6&period=30$`));
    expect(start.body.secret).toBe(secretOf(start.body.uri));
    expect(start.body.qrCodePng).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    expect(start.body.qrCodeSvg).toMatch(/^<svg /);

    const secret = secretOf(start.body.uri);
    const now = oathtool(secret);
    const wrong = await portal<ErrorBody>("POST", "/portal/v1/mfa/totp/confirm", { code: String((Number(now) + 500_000) % 1_000_000).padStart(6, "0") }, token);
    expect([wrong.status, wrong.body.error.code]).toEqual([400, "mfa_code_invalid"]);
    expect((await portal("POST", "/portal/v1/mfa/totp/confirm", { code: now }, token)).status).toBe(200);
    expect((await cp.api<User>("GET", `/api/v1/users/${user.id}`)).body.mfa.status).toBe("enrolled");
    const again = await portal<ErrorBody>("POST", "/portal/v1/mfa/totp", undefined, token);
    expect([again.status, again.body.error.code]).toEqual([409, "mfa_already_enrolled"]);

    const refusal = async (body: Record<string, unknown>) => {
      const res = await portal<ErrorBody>("POST", "/portal/v1/login", { login: user.username, password: PASSWORD, ...body });
      return `${res.status} ${res.body.error?.code}`;
    };
    expect(await refusal({})).toBe("401 mfa_code_required");
    // The confirmation spent this step's code; the next step's code (within the tolerance) signs in, once.
    const next = oathtool(secret, new Date(Date.now() + 30_000));
    expect(await refusal({ code: String((Number(next) + 500_000) % 1_000_000).padStart(6, "0") })).toBe("401 mfa_code_invalid");
    const signedIn = await portal<PortalSession>("POST", "/portal/v1/login", { login: user.username, password: PASSWORD, code: `${next.slice(0, 3)} ${next.slice(3)}` });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.mfa).toEqual({ status: "enrolled", enrollmentRequired: false, deadline: null });
    expect(await refusal({ code: next })).toBe("401 mfa_code_reused");

    const actions = ["user.mfa-enrollment-started", "user.mfa-enrolled", "portal.login", "portal.login-failed"];
    const counts = await Promise.all(actions.map(async (action) => (await events(action, user.id)).length));
    expect(counts).toEqual([1, 1, 2, 2]);
    const enrolledEvent = (await events("user.mfa-enrolled", user.id))[0]!;
    expect(enrolledEvent).toMatchObject({ actor: { type: "user", id: user.id, name: user.username }, remoteAddr: "127.0.0.1" });
  });

  it("starts over after an admin's reset: pending again, and a new secret", async () => {
    const user = await createUser({ mfa: { required: true } });
    const secret = await enroll(await login(user));
    const reset = await cp.api<User>("POST", `/api/v1/users/${user.id}/reset-mfa`);
    expect(reset.body.mfa.status).toBe("pending");
    const token = await login(user);
    expect(secretOf((await portal<TotpEnrollment>("POST", "/portal/v1/mfa/totp", undefined, token)).body.uri)).not.toBe(secret);
  });

  it("refuses malformed codes with the reason", async () => {
    const res = await portal<ErrorBody>("POST", "/portal/v1/login", { login: "x", password: "y", code: "12345" });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: "code", reason: "must be the 6 digits your authenticator app shows" }]);
  });
});

describe("sessions", () => {
  it("show the user's own profile, end at logout, and are no API keys (nor API keys sessions)", async () => {
    const user = await createUser({ department: "Ops", description: "admin's note" });
    const token = await login(user);
    const me = await portal<PortalProfile>("GET", "/portal/v1/me", undefined, token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, username: user.username, department: "Ops", state: "activated" });
    expect(me.body).not.toHaveProperty("description");
    expect(JSON.stringify(me.body)).not.toMatch(/scrypt|\$6\$|password_hash/);

    const asApiKey = await cp.api<ErrorBody>("GET", "/api/v1/users", undefined, token);
    expect([asApiKey.status, asApiKey.body.error.code]).toEqual([401, "invalid_api_key"]);
    const adminKeyAsSession = await portal<ErrorBody>("GET", "/portal/v1/me", undefined, cp.adminApiKey);
    expect([adminKeyAsSession.status, adminKeyAsSession.body.error.code]).toEqual([401, "portal_session_invalid"]);
    const none = await portal<ErrorBody>("GET", "/portal/v1/me");
    expect([none.status, none.body.error.code]).toEqual([401, "portal_session_required"]);

    expect((await portal("POST", "/portal/v1/logout", undefined, token)).status).toBe(204);
    const after = await portal<ErrorBody>("GET", "/portal/v1/me", undefined, token);
    expect([after.status, after.body.error.code]).toEqual([401, "portal_session_invalid"]);
  });

  it("end when the user is suspended, and a suspended user is told so", async () => {
    const user = await createUser();
    const token = await login(user);
    await cp.api("POST", `/api/v1/users/${user.id}/suspend`);
    const me = await portal<ErrorBody>("GET", "/portal/v1/me", undefined, token);
    expect([me.status, me.body.error.code]).toEqual([403, "account_suspended"]);
    const again = await portal<ErrorBody>("POST", "/portal/v1/login", { login: user.username, password: PASSWORD });
    expect([again.status, again.body.error.code]).toEqual([403, "account_suspended"]);
  });
});

describe("password changes", () => {
  it("replace the password: the old one stops working and the user's other sessions end", async () => {
    const user = await createUser();
    const [token, other] = [await login(user), await login(user)];
    const change = (currentPassword: string, newPassword: string) => portal<ErrorBody>("POST", "/portal/v1/password", { currentPassword, newPassword }, token);

    const short = await change(PASSWORD, "short");
    expect([short.status, short.body.error.details?.[0]?.field]).toEqual([400, "newPassword"]);
    const wrong = await change("not my password!", "a brand new passphrase");
    expect([wrong.status, wrong.body.error.code]).toEqual([403, "current_password_invalid"]);
    expect((await change(PASSWORD, "a brand new passphrase")).status).toBe(204);

    const old = await portal<ErrorBody>("POST", "/portal/v1/login", { login: user.username, password: PASSWORD });
    expect([old.status, old.body.error.code]).toEqual([401, "invalid_credentials"]);
    await login(user, "a brand new passphrase");
    expect((await portal("GET", "/portal/v1/me", undefined, token)).status).toBe(200);
    expect((await portal("GET", "/portal/v1/me", undefined, other)).status).toBe(401);
    expect(await events("portal.password-changed", user.id)).toHaveLength(1);
    const failed = await events("portal.login-failed", user.id);
    expect(JSON.stringify(failed)).not.toContain("not my password");
  });

  it("are all a session may do once the password has expired", async () => {
    const user = await createUser();
    await cp.api("POST", `/api/v1/users/${user.id}/expire-password`);
    const signedIn = await portal<PortalSession>("POST", "/portal/v1/login", { login: user.username, password: PASSWORD });
    expect(signedIn.body.passwordChangeRequired).toBe(true);
    const token = signedIn.body.token;
    const enroll = await portal<ErrorBody>("POST", "/portal/v1/mfa/totp", undefined, token);
    expect([enroll.status, enroll.body.error.code]).toEqual([403, "password_change_required"]);
    expect((await portal("GET", "/portal/v1/me", undefined, token)).status).toBe(200);
    expect((await portal("POST", "/portal/v1/password", { currentPassword: PASSWORD, newPassword: "a brand new passphrase" }, token)).status).toBe(204);
    expect((await portal("POST", "/portal/v1/mfa/totp", undefined, token)).status).toBe(201);
  });
});

describe("the admin side of MFA", () => {
  it("takes mfa.required and enrollmentDays 1–365 from admins only", async () => {
    const user = await createUser();
    for (const days of [0, 366, 1.5]) {
      const res = await cp.api<ErrorBody>("PATCH", `/api/v1/users/${user.id}`, { mfa: { enrollmentDays: days } });
      expect(res.status, String(days)).toBe(400);
      expect(res.body.error.details?.[0]?.field).toBe("mfa.enrollmentDays");
    }
    const denied = await Promise.all([
      cp.api<ErrorBody>("PATCH", `/api/v1/users/${user.id}`, { mfa: { required: true } }, readOnlyKey),
      cp.api<ErrorBody>("POST", `/api/v1/users/${user.id}/reset-mfa`, undefined, readOnlyKey),
      cp.api<ErrorBody>("POST", `/api/v1/users/${user.id}/unlock`, undefined, readOnlyKey),
    ]);
    expect(denied.map((r) => `${r.status} ${r.body.error.code}`)).toEqual(["403 forbidden", "403 forbidden", "403 forbidden"]);
    expect((await cp.api<User>("GET", `/api/v1/users/${user.id}`, undefined, readOnlyKey)).body.mfa.status).toBe("not_enrolled");

    const filtered = await cp.api<Page<User>>("GET", `/api/v1/users?filter=mfaStatus:eq:pending&filter=username:eq:${user.username}`);
    expect(filtered.body.totalCount).toBe(0);
    await cp.api("PATCH", `/api/v1/users/${user.id}`, { mfa: { required: true, enrollmentDays: 1 } });
    const pending = await cp.api<Page<User>>("GET", `/api/v1/users?filter=mfaStatus:eq:pending&filter=username:eq:${user.username}`);
    expect(pending.body.results.map((u) => u.id)).toEqual([user.id]);
  });
});
