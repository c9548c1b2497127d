import { afterEach, describe, expect, it } from "vitest";
import type { PortalConfig } from "../../control-plane/src/portal-config.js";
import { TooManyRequestsError } from "../../control-plane/src/errors.js";
import { hashSecret } from "../../control-plane/src/services/hashing.js";
import type { User } from "../../control-plane/src/domain/user.js";
import { oathtool, PASSWORD, portalHarness, secretOf, type PortalHarness } from "../helpers/portal.js";

/**
 * Portal sign-in, lock-out, sessions and password changes, at the service level with an injected
 * clock over a real in-memory database; the stored hashes are read through the store, never the API.
 */

const HOUR = 3_600_000;
const NEW_PASSWORD = "a brand new passphrase";
let h: PortalHarness;

const setUp = (config: Partial<PortalConfig> = {}) => (h = portalHarness(config));
afterEach(() => h.close());

const login = (name: string, password = PASSWORD, code?: string) => h.portal.login(h.ctx(), { login: name, password, ...(code ? { code } : {}) });
const events = (action: string) => h.stores.events.list({ filters: [{ field: "action", op: "eq", value: action }], sort: [], limit: 100, skip: 0 }).results;
const thrown = async (fn: () => unknown): Promise<unknown> => {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  return undefined;
};
/** Another six digits than `code`. */
const wrongCode = (code: string) => String((Number(code) + 500_000) % 1_000_000).padStart(6, "0");
const caller = (token: string, need: "full" | "password-change" = "full") => h.portal.authenticate(token, h.ctx(), need);

async function enrolled(user: User): Promise<string> {
  const secret = secretOf((await h.mfa.startTotp(h.ctx(), user)).uri);
  h.mfa.confirmTotp(h.ctx(), user.id, oathtool(secret, h.clock.now()));
  h.clock.advance(30_000);
  return secret;
}

describe("sign-in", () => {
  it("takes the username or the email without case, and keeps only a hash of the session token", async () => {
    setUp();
    const user = await h.createUser({ username: "ada", email: "Ada@Example.com" });
    const byName = await login("ADA");
    const byEmail = await login("ada@example.COM");
    expect(byName).toEqual({
      token: expect.stringMatching(/^tps_[\w-]{43}$/),
      expiresAt: "2030-01-01T08:00:00.000Z",
      passwordChangeRequired: false,
      mfa: { status: "not_enrolled", enrollmentRequired: false, deadline: null },
    });
    expect(byEmail.token).not.toBe(byName.token);
    expect(h.stores.portalSessions.get(byName.token)).toBeUndefined();
    expect(h.stores.portalSessions.get(hashSecret(byName.token))).toMatchObject({ userId: user.id, scope: "full", remoteAddr: "203.0.113.7" });
    expect(events("portal.login")).toHaveLength(2);
    expect(events("portal.login")[0]!.actor).toEqual({ type: "user", id: user.id, name: "ada" });
  });

  it("answers unknown names and wrong passwords alike (401 invalid_credentials), audited without the password", async () => {
    setUp();
    await h.createUser({ username: "ada", email: "ada@example.com" });
    await expect(login("ada", "not the password at all")).rejects.toMatchObject({ status: 401, code: "invalid_credentials" });
    await expect(login("nobody", "not the password at all")).rejects.toMatchObject({ status: 401, code: "invalid_credentials" });
    const failed = events("portal.login-failed");
    expect(failed.map((e) => e.details)).toEqual([
      { login: "nobody", reason: "unknown login" },
      { username: "ada", reason: "wrong password", failures: 1 },
    ]);
    expect(failed.every((e) => e.remoteAddr === "203.0.113.7")).toBe(true);
    expect(JSON.stringify(h.stores.events.list({ filters: [], sort: [], limit: 100, skip: 0 }))).not.toContain("not the password");
  });

  it("refuses suspended, staged and locked users with their reason, and tells a suspended user's state only for the right password", async () => {
    setUp();
    const suspended = await h.createUser();
    h.users.suspend(h.ctx(), suspended.id);
    await expect(login(suspended.username, "a wrong password!")).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(login(suspended.username)).rejects.toMatchObject({ status: 403, code: "account_suspended" });

    const staged = await h.createUser({ password: undefined });
    expect(staged.state).toBe("staged");
    await expect(login(staged.username)).rejects.toMatchObject({ status: 403, code: "password_not_set" });

    const locked = await h.createUser({ accountLocked: true });
    await expect(login(locked.username)).rejects.toMatchObject({ status: 403, code: "account_locked" });
    expect(events("portal.login-failed").map((e) => e.details!.reason)).toEqual(["account locked", "no password", "account_suspended", "wrong password"]);
  });

  it("needs a code once the user is enrolled: missing, wrong and replayed codes are refused", async () => {
    setUp();
    const user = await h.createUser();
    const secret = await enrolled(user);
    await expect(login(user.username)).rejects.toMatchObject({ status: 401, code: "mfa_code_required" });
    const code = oathtool(secret, h.clock.now());
    await expect(login(user.username, PASSWORD, wrongCode(code))).rejects.toMatchObject({ status: 401, code: "mfa_code_invalid" });
    // A wrong password with the right code is still a wrong password, and does not spend the code.
    await expect(login(user.username, "a wrong password!", code)).rejects.toMatchObject({ code: "invalid_credentials" });
    expect((await login(user.username, PASSWORD, code)).mfa.status).toBe("enrolled");
    await expect(login(user.username, PASSWORD, code)).rejects.toMatchObject({ status: 401, code: "mfa_code_reused" });
    expect(events("portal.login").at(0)!.details).toMatchObject({ mfa: "totp" });
  });
});

describe("lock-out", () => {
  it("locks after N failures in a row (audited); a success in between starts the count again; an admin's unlock lets the user in", async () => {
    setUp({ lockoutThreshold: 3 });
    const user = await h.createUser();
    for (let i = 0; i < 2; i++) await expect(login(user.username, "a wrong password!")).rejects.toMatchObject({ code: "invalid_credentials" });
    await login(user.username);
    for (let i = 0; i < 2; i++) await expect(login(user.username, "a wrong password!")).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(h.stores.users.get(user.id)!.accountLocked).toBe(false);
    await expect(login(user.username, "a wrong password!")).rejects.toMatchObject({ status: 403, code: "account_locked", message: expect.stringMatching(/now locked/) });
    expect(h.stores.users.get(user.id)!.accountLocked).toBe(true);
    expect(events("user.locked").map((e) => e.object.id)).toEqual([user.id]);
    expect(events("portal.login-failed")[0]!.details).toEqual({ username: user.username, reason: "wrong password", failures: 3 });

    // Locked: even the right password is refused, and it does not tell right from wrong.
    await expect(login(user.username)).rejects.toMatchObject({ code: "account_locked" });
    h.users.unlock(h.ctx(), user.id);
    await login(user.username);
  });

  it("counts wrong MFA codes too", async () => {
    setUp({ lockoutThreshold: 2 });
    const user = await h.createUser();
    const secret = await enrolled(user);
    const code = oathtool(secret, h.clock.now());
    await expect(login(user.username, PASSWORD, wrongCode(code))).rejects.toMatchObject({ code: "mfa_code_invalid" });
    await expect(login(user.username, PASSWORD, wrongCode(code))).rejects.toMatchObject({ code: "account_locked" });
    expect(events("portal.login-failed").map((e) => e.details!.reason)).toEqual(["wrong MFA code", "wrong MFA code"]);
  });

  it("ends the sessions of a locked account at once", async () => {
    setUp({ lockoutThreshold: 1 });
    const user = await h.createUser();
    const { token } = await login(user.username);
    await expect(login(user.username, "a wrong password!")).rejects.toMatchObject({ code: "account_locked" });
    expect(await thrown(() => caller(token))).toMatchObject({ status: 403, code: "account_locked" });
  });
});

describe("rate limit per account", () => {
  it("counts attempts under any of the account's names, and says how long to wait", async () => {
    setUp({ loginRatePerAccount: { attempts: 3, windowSeconds: 60 } });
    const user = await h.createUser({ username: "ada", email: "ada@example.com" });
    await login("ada");
    await login("ADA");
    await expect(login("ada@example.com", "a wrong password!")).rejects.toMatchObject({ code: "invalid_credentials" });
    const limited = await thrown(() => login("ada"));
    expect(limited).toBeInstanceOf(TooManyRequestsError);
    expect(limited).toMatchObject({ status: 429, retryAfterSeconds: 60 });
    h.clock.advance(45_000);
    expect(await thrown(() => login("ada"))).toMatchObject({ retryAfterSeconds: 15 });
    h.clock.advance(15_000);
    await login("ada");
    // Refused attempts were not checked, so they neither counted as failures nor were audited.
    expect(events("portal.login-failed")).toHaveLength(1);
    expect(h.stores.users.get(user.id)!.accountLocked).toBe(false);
  });

  it("limits guesses at unknown names as well", async () => {
    setUp({ loginRatePerAccount: { attempts: 1, windowSeconds: 60 } });
    await expect(login("ghost")).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(login("GHOST")).rejects.toMatchObject({ code: "too_many_requests" });
  });
});

describe("sessions", () => {
  it("end after their lifetime, at logout and when the account is suspended; the sweep drops expired ones", async () => {
    setUp({ sessionTtlSeconds: 3600 });
    const user = await h.createUser();
    const [a, b, c] = [await login(user.username), await login(user.username), await login(user.username)];
    expect(await thrown(() => caller("tps_not-a-session"))).toMatchObject({ status: 401, code: "portal_session_invalid" });
    expect(await thrown(() => caller(""))).toMatchObject({ status: 401, code: "portal_session_required" });

    h.portal.logout(caller(a.token));
    expect(await thrown(() => caller(a.token))).toMatchObject({ code: "portal_session_invalid" });
    expect(events("portal.logout")).toHaveLength(1);

    h.users.suspend(h.ctx(), user.id);
    expect(await thrown(() => caller(b.token))).toMatchObject({ status: 403, code: "account_suspended" });
    h.users.activate(h.ctx(), user.id);
    expect(caller(b.token).user.id).toBe(user.id);

    h.clock.advance(HOUR);
    expect(await thrown(() => caller(c.token))).toMatchObject({ code: "portal_session_invalid" });
    h.portal.sweep();
    expect(h.stores.portalSessions.get(hashSecret(c.token))).toBeUndefined();
  });

  it("show users their own profile, without admin-only fields or any hash", async () => {
    setUp();
    const user = await h.createUser({ sudo: true, description: "admin's note", department: "Ops" });
    const profile = h.portal.profile(caller((await login(user.username)).token));
    expect(profile).toMatchObject({ id: user.id, username: user.username, department: "Ops", mfa: user.mfa });
    expect(Object.keys(profile)).not.toEqual(expect.arrayContaining(["sudo"]));
    expect(Object.keys(profile)).not.toContain("description");
    expect(JSON.stringify(profile)).not.toMatch(/scrypt|\$6\$/);
  });
});

describe("password changes", () => {
  it("re-hash both hashes: the old password stops working, the new one works, and the $6$ hash devices get changed", async () => {
    setUp();
    const user = await h.createUser();
    const session = await login(user.username);
    const other = await login(user.username);
    const before = h.stores.users.passwordHashes(user.id)!;

    await h.portal.changePassword(caller(session.token), PASSWORD, NEW_PASSWORD);
    const after = h.stores.users.passwordHashes(user.id)!;
    expect(after.hash).toMatch(/^scrypt\$/);
    expect(after.crypt).toMatch(/^\$6\$rounds=5000\$/);
    expect(after.hash).not.toBe(before.hash);
    expect(after.crypt).not.toBe(before.crypt);
    await expect(login(user.username)).rejects.toMatchObject({ code: "invalid_credentials" });
    await login(user.username, NEW_PASSWORD);

    // This session goes on; the user's other sessions end.
    expect(caller(session.token).user.id).toBe(user.id);
    expect(await thrown(() => caller(other.token))).toMatchObject({ code: "portal_session_invalid" });
    expect(events("portal.password-changed")[0]!.details).toEqual({ username: user.username, otherSessionsEnded: 1 });
    expect(events("user.updated")[0]!).toMatchObject({ actor: { type: "user", id: user.id }, details: { fields: ["password"] } });
  });

  it("check the current password (a wrong one counts towards the lock-out) and the policy, and want a new password", async () => {
    setUp({ lockoutThreshold: 2 });
    const user = await h.createUser();
    const { token } = await login(user.username);
    const before = h.stores.users.passwordHashes(user.id)!;
    expect(await thrown(() => h.portal.changePassword(caller(token), PASSWORD, "short"))).toMatchObject({ status: 400, details: [{ field: "newPassword" }] });
    expect(await thrown(() => h.portal.changePassword(caller(token), PASSWORD, PASSWORD))).toMatchObject({ status: 400, message: "newPassword: must differ from the current password" });
    expect(await thrown(() => h.portal.changePassword(caller(token), "not my password!", NEW_PASSWORD))).toMatchObject({ status: 403, code: "current_password_invalid" });
    expect(h.stores.users.passwordHashes(user.id)).toEqual(before);
    expect(await thrown(() => h.portal.changePassword(caller(token), "not my password!", NEW_PASSWORD))).toMatchObject({ code: "account_locked" });
  });

  it("are all an expired password's session may do, until it is changed", async () => {
    setUp();
    const user = await h.createUser();
    h.users.expirePassword(h.ctx(), user.id);
    const session = await login(user.username);
    expect(session.passwordChangeRequired).toBe(true);
    expect(await thrown(() => caller(session.token))).toMatchObject({ status: 403, code: "password_change_required" });
    expect(caller(session.token, "password-change").scope).toBe("password-change");

    await h.portal.changePassword(caller(session.token, "password-change"), PASSWORD, NEW_PASSWORD);
    expect(caller(session.token).scope).toBe("full");
    expect(h.stores.users.get(user.id)!.passwordExpiresAt).toBeNull();
    expect((await login(user.username, NEW_PASSWORD)).passwordChangeRequired).toBe(false);
  });
});
