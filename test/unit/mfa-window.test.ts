import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UpdateUserSchema, mfaStatusAt, type User } from "../../control-plane/src/domain/user.js";
import { oathtool, PASSWORD, portalHarness, secretOf, type PortalHarness } from "../helpers/portal.js";

/**
 * The MFA status and its enrollment window, with an injected clock over a real in-memory database:
 * what admins' changes do to it, how the window closes (at sign-in and by the sweep), and what the
 * portal then refuses.
 */

const DAY = 86_400_000;
let h: PortalHarness;

beforeEach(() => {
  h = portalHarness();
});
afterEach(() => h.close());

const patch = (user: User, fields: Record<string, unknown>) => h.users.update(h.ctx(), user.id, UpdateUserSchema.parse(fields));
const status = (user: User) => h.stores.users.get(user.id)!.mfa.status;
const login = (user: User, code?: string) => h.portal.login(h.ctx(), { login: user.username, password: PASSWORD, ...(code ? { code } : {}) });
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};
const events = (action: string) => h.stores.events.list({ filters: [{ field: "action", op: "eq", value: action }], sort: [], limit: 100, skip: 0 }).results;

describe("mfaStatusAt", () => {
  const now = new Date("2030-01-10T00:00:00.000Z");
  it.each([
    [{ required: false, enrollmentDeadline: null }, false, "not_enrolled"],
    [{ required: false, enrollmentDeadline: null }, true, "enrolled"],
    [{ required: true, enrollmentDeadline: "2030-01-10T00:00:00.001Z" }, false, "pending"],
    [{ required: true, enrollmentDeadline: "2030-01-10T00:00:00.000Z" }, false, "enrollment_expired"],
    [{ required: true, enrollmentDeadline: "2030-01-01T00:00:00.000Z" }, true, "enrolled"],
  ] as const)("%j, enrolled %s → %s", (mfa, enrolled, expected) => {
    expect(mfaStatusAt(mfa, enrolled, now)).toBe(expected);
  });
});

describe("the admin side", () => {
  it("makes a required user pending with a deadline of now + enrollmentDays, and not_enrolled again when MFA is turned off", async () => {
    const user = await h.createUser({ mfa: { required: true, enrollmentDays: 3 } });
    expect(user.mfa).toEqual({ required: true, enrollmentDays: 3, enrollmentDeadline: "2030-01-04T00:00:00.000Z", status: "pending" });
    const plain = await h.createUser();
    expect(plain.mfa).toEqual({ required: false, enrollmentDays: 7, enrollmentDeadline: null, status: "not_enrolled" });

    h.clock.advance(DAY);
    const required = await patch(plain, { mfa: { required: true } });
    expect(required.mfa).toEqual({ required: true, enrollmentDays: 7, enrollmentDeadline: "2030-01-09T00:00:00.000Z", status: "pending" });
    const off = await patch(plain, { mfa: { required: false } });
    expect(off.mfa).toMatchObject({ required: false, enrollmentDeadline: null, status: "not_enrolled" });
  });

  it("keeps an enrolled user enrolled whether MFA is required or not", async () => {
    const user = await h.createUser();
    const secret = secretOf((await h.mfa.startTotp(h.ctx(), user)).uri);
    h.mfa.confirmTotp(h.ctx(), user.id, oathtool(secret, h.clock.now()));
    expect((await patch(user, { mfa: { required: true } })).mfa.status).toBe("enrolled");
    h.clock.advance(30 * DAY);
    h.portal.sweep();
    expect(status(user)).toBe("enrolled");
    expect((await patch(user, { mfa: { required: false } })).mfa.status).toBe("enrolled");
  });
});

describe("the enrollment window", () => {
  it("lets a pending user sign in until the deadline, then refuses with mfa_enrollment_expired (written and audited)", async () => {
    const user = await h.createUser({ mfa: { required: true, enrollmentDays: 2 } });
    const session = await login(user);
    expect(session.mfa).toEqual({ status: "pending", enrollmentRequired: true, deadline: "2030-01-03T00:00:00.000Z" });

    h.clock.advance(2 * DAY - 1);
    const late = await login(user);
    expect(late.mfa.status).toBe("pending");
    h.clock.advance(1);
    // A session opened inside the window stops working once it closes.
    expect(thrown(() => h.portal.authenticate(late.token, h.ctx(), "full"))).toMatchObject({ status: 403, code: "mfa_enrollment_expired" });
    await expect(login(user)).rejects.toMatchObject({ status: 403, code: "mfa_enrollment_expired", message: expect.stringMatching(/by 2030-01-03T00:00:00.000Z.*reset your MFA/) });
    expect(status(user)).toBe("enrollment_expired");
    expect(events("user.mfa-enrollment-expired")).toHaveLength(1);
    expect(events("portal.login-failed").at(0)?.details).toMatchObject({ username: user.username, reason: "MFA enrollment expired" });

  });

  it("is closed by the sweep for users who never try to sign in, once each", async () => {
    const soon = await h.createUser({ mfa: { required: true, enrollmentDays: 1 } });
    const later = await h.createUser({ mfa: { required: true, enrollmentDays: 5 } });
    h.clock.advance(DAY);
    h.portal.sweep();
    expect([status(soon), status(later)]).toEqual(["enrollment_expired", "pending"]);
    h.portal.sweep();
    expect(events("user.mfa-enrollment-expired").map((e) => e.object.id)).toEqual([soon.id]);
  });

  it("reopens with an admin's reset: pending again with a new deadline, and the user can sign in and enroll", async () => {
    const user = await h.createUser({ mfa: { required: true, enrollmentDays: 1 } });
    h.clock.advance(3 * DAY);
    h.portal.sweep();
    await expect(login(user)).rejects.toMatchObject({ code: "mfa_enrollment_expired" });

    const reset = h.users.resetMfa(h.ctx(), user.id);
    expect(reset.mfa).toMatchObject({ status: "pending", enrollmentDeadline: "2030-01-05T00:00:00.000Z" });
    const session = await login(user);
    const caller = h.portal.authenticate(session.token, h.ctx(), "full");
    const secret = secretOf((await h.portal.startTotp(caller)).uri);
    expect(h.portal.confirmTotp(caller, oathtool(secret, h.clock.now()))).toEqual({ status: "enrolled", enrollmentRequired: false, deadline: null });

    // Enrolled: the deadline no longer matters, but a code does.
    h.clock.advance(10 * DAY);
    h.portal.sweep();
    await expect(login(user)).rejects.toMatchObject({ status: 401, code: "mfa_code_required" });
    expect((await login(user, oathtool(secret, h.clock.now()))).mfa.status).toBe("enrolled");
  });

  it("does not apply to users for whom MFA is not required", async () => {
    const user = await h.createUser();
    h.clock.advance(400 * DAY);
    h.portal.sweep();
    expect((await login(user)).mfa).toEqual({ status: "not_enrolled", enrollmentRequired: false, deadline: null });
  });
});
