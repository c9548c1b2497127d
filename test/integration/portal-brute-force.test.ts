import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../control-plane/src/domain/event.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { User } from "../../control-plane/src/domain/user.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { PASSWORD, portalCall } from "../helpers/portal.js";

/**
 * Brute force against the portal of real control plane processes over HTTPS: the per-account and
 * per-address rate limits (429 with Retry-After) and the lock-out after N failures in a row, with
 * its audit trail and an admin's unlock.
 */

interface ErrorBody {
  error: { code: string; message: string };
}

/** Lock-out after 3 failures; 6 sign-ins a minute per account. */
let cp: TestControlPlane;
/** 3 sign-ins a minute per address. */
let tight: TestControlPlane;

beforeAll(async () => {
  [cp, tight] = await Promise.all([
    startControlPlane({ env: { TETHER_PORTAL_LOCKOUT_THRESHOLD: "3", TETHER_PORTAL_LOGIN_RATE_ACCOUNT: "6/1m", TETHER_PORTAL_LOGIN_RATE_IP: "200/1m" } }),
    startControlPlane({ env: { TETHER_PORTAL_LOGIN_RATE_IP: "3/1m" } }),
  ]);
});
afterAll(() => Promise.all([cp?.cleanup(), tight?.cleanup()]));

async function createUser(server: TestControlPlane = cp): Promise<User> {
  const name = `u${randomBytes(4).toString("hex")}`;
  const res = await server.api<User>("POST", "/api/v1/users", { username: name, email: `${name}@example.com`, password: PASSWORD });
  expect(res.status).toBe(201);
  return res.body;
}

async function signIn(server: TestControlPlane, login: string, password = PASSWORD) {
  const res = await portalCall<ErrorBody & { token?: string }>(server, "POST", "/portal/v1/login", { login, password });
  return { status: res.status, code: res.body.error?.code ?? "ok", retryAfter: res.headers["retry-after"] };
}

async function events(action: string, objectId: string): Promise<AuditEvent[]> {
  const query = new URLSearchParams([["filter", `action:eq:${action}`], ["filter", `objectId:eq:${objectId}`], ["sort", "at"]]);
  return (await cp.api<Page<AuditEvent>>("GET", `/api/v1/events?${query}`)).body.results;
}

describe("lock-out", () => {
  it("locks the account at the 3rd wrong password in a row (audited, no password in the log); only an admin's unlock lets the user in", async () => {
    const user = await createUser();
    expect((await signIn(cp, user.username, "wrong password 1")).code).toBe("invalid_credentials");
    expect((await signIn(cp, user.email, "wrong password 2")).code).toBe("invalid_credentials");
    const third = await signIn(cp, user.username, "wrong password 3");
    expect([third.status, third.code]).toEqual([403, "account_locked"]);

    expect((await cp.api<User>("GET", `/api/v1/users/${user.id}`)).body.accountLocked).toBe(true);
    const failed = await events("portal.login-failed", user.id);
    expect(failed.map((e) => e.details)).toEqual([1, 2, 3].map((failures) => ({ username: user.username, reason: "wrong password", failures })));
    expect(failed.every((e) => e.remoteAddr === "127.0.0.1")).toBe(true);
    expect(JSON.stringify(failed)).not.toMatch(/wrong password \d/);
    expect(await events("user.locked", user.id)).toHaveLength(1);

    // The right password does not get past the lock, and is not told apart from a wrong one.
    expect((await signIn(cp, user.username)).code).toBe("account_locked");
    expect((await signIn(cp, user.username, "wrong password 4")).code).toBe("account_locked");
    expect((await cp.api<User>("POST", `/api/v1/users/${user.id}/unlock`)).body.accountLocked).toBe(false);
    expect((await signIn(cp, user.username)).code).toBe("ok");
  });
});

describe("rate limits", () => {
  it("answer the 7th sign-in a minute to one account, by whatever name, with 429 and Retry-After", async () => {
    const user = await createUser();
    const names = [user.username, user.email, user.username.toUpperCase(), user.username, user.email, user.username];
    for (const name of names) expect((await signIn(cp, name)).code).toBe("ok");
    const limited = await signIn(cp, user.username);
    expect([limited.status, limited.code]).toEqual([429, "too_many_requests"]);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60);
    // Another account is not held up.
    expect((await signIn(cp, (await createUser()).username)).code).toBe("ok");
  });

  it("answer the 4th sign-in a minute from one address with 429 and Retry-After, whichever account it is for", async () => {
    const user = await createUser(tight);
    for (const name of ["nobody-1", "nobody-2", user.username]) expect((await signIn(tight, name)).status).not.toBe(429);
    const limited = await signIn(tight, user.username);
    expect([limited.status, limited.code]).toEqual([429, "too_many_requests"]);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60);
    // Only sign-in is limited.
    expect((await tight.api("GET", `/api/v1/users/${user.id}`)).status).toBe(200);
  });
});
