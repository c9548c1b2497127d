import { beforeEach, describe, expect, it } from "vitest";
import { systemContext } from "../../control-plane/src/domain/actor.js";
import { CreateUserSchema, UpdateUserSchema, type User } from "../../control-plane/src/domain/user.js";
import type { Mailer } from "../../control-plane/src/services/ports.js";
import { UserService } from "../../control-plane/src/services/users.js";
import { openDatabase, type Db } from "../../control-plane/src/store/db.js";
import { createStores, type Stores } from "../../control-plane/src/store/index.js";

/** The users service on a real in-memory SQLite with the real migrations: what it tells its listeners, and what it stores. */

const NOW = new Date("2030-01-01T00:00:00.000Z");
const ctx = (now = NOW) => systemContext(now);
const PASSWORD = "correct horse battery staple";

let db: Db;
let stores: Stores;
let service: UserService;
/** The ids each usersChanged call carried, and whether the user still existed then. */
let changed: { ids: readonly string[]; exists: boolean }[];
let mfaResets: string[];
let mail: { to: string; subject: string; text: string }[];

function makeService(mailer?: Mailer): UserService {
  const users = new UserService(stores, {
    config: { passwordMinLength: 12, activationTtlSeconds: 3600, smtpUrl: undefined, mailFrom: undefined },
    publicUrl: () => "https://tether.example.com",
    mailer,
    directory: { usersChanged: (ids) => changed.push({ ids, exists: stores.users.get(ids[0]!) !== undefined }) },
  });
  users.onMfaReset({ mfaReset: (id) => mfaResets.push(id) });
  return users;
}

beforeEach(() => {
  db = openDatabase(":memory:");
  stores = createStores(db);
  changed = [];
  mfaResets = [];
  mail = [];
  service = makeService();
});

const create = (fields: Record<string, unknown> = {}) => service.create(ctx(), CreateUserSchema.parse({ username: "ada", email: "ada@example.com", ...fields }));
const patch = (user: User, fields: Record<string, unknown>) => service.update(ctx(), user.id, UpdateUserSchema.parse(fields));

describe("the directory listener", () => {
  it("hears of creation and of each change devices see, not of other fields", async () => {
    const user = await create();
    expect(changed).toEqual([{ ids: [user.id], exists: true }]);

    for (const fields of [{ department: "Ops" }, { jobTitle: "x", description: "y" }, { mfa: { required: true } }, { passwordNeverExpires: true }]) {
      changed = [];
      await patch(user, fields);
      expect(changed, JSON.stringify(fields)).toEqual([]);
    }
    for (const fields of [{ sudo: true }, { passwordlessSudo: true }, { shell: "/bin/zsh" }, { unixUid: 6001 }, { unixGid: 6001 }, { username: "ada2" }, { password: PASSWORD }, { displayname: "Ada" }]) {
      changed = [];
      await patch(user, fields);
      expect(changed, JSON.stringify(fields)).toEqual([{ ids: [user.id], exists: true }]);
    }
  });

  it("hears of suspend, activate, unlock and delete (after the row is gone), not of expire-password or reset-mfa", async () => {
    const user = await create({ password: PASSWORD, accountLocked: true });
    const heard = (action: () => unknown) => {
      changed = [];
      action();
      return changed.length;
    };
    expect(heard(() => service.suspend(ctx(), user.id))).toBe(1);
    expect(heard(() => service.suspend(ctx(), user.id))).toBe(0);
    expect(heard(() => service.activate(ctx(), user.id))).toBe(1);
    expect(heard(() => service.unlock(ctx(), user.id))).toBe(1);
    expect(heard(() => service.expirePassword(ctx(), user.id))).toBe(0);
    expect(heard(() => service.resetMfa(ctx(), user.id))).toBe(0);
    expect(mfaResets).toEqual([user.id]);
    changed = [];
    service.delete(ctx(), user.id);
    expect(changed).toEqual([{ ids: [user.id], exists: false }]);
  });

  it("runs inside the change's transaction: a listener that throws undoes the change and its audit", async () => {
    const user = await create();
    const failing = new UserService(stores, {
      config: { passwordMinLength: 12, activationTtlSeconds: 3600, smtpUrl: undefined, mailFrom: undefined },
      publicUrl: () => "https://tether.example.com",
      directory: {
        usersChanged: () => {
          throw new Error("revision store unavailable");
        },
      },
    });
    await expect(failing.update(ctx(), user.id, UpdateUserSchema.parse({ sudo: true }))).rejects.toThrow("revision store unavailable");
    expect(stores.users.get(user.id)).toMatchObject({ sudo: false, version: 1 });
    expect(db.prepare("SELECT COUNT(*) AS n FROM events WHERE action = 'user.updated'").get()).toEqual({ n: 0 });
  });
});

describe("what is stored", () => {
  it("keeps both hashes, never the password, and reads never carry them", async () => {
    const user = await create({ password: PASSWORD });
    const row = db.prepare("SELECT * FROM users WHERE id = ?").get(user.id) as Record<string, unknown>;
    expect(row.password_hash).toMatch(/^scrypt\$/);
    expect(row.password_crypt).toMatch(/^\$6\$rounds=5000\$/);
    expect(row.password_set_at).toBe(NOW.toISOString());
    const everything = JSON.stringify(db.prepare("SELECT * FROM users").all()) + JSON.stringify(db.prepare("SELECT * FROM events").all());
    expect(everything).not.toContain(PASSWORD);
    const reads = JSON.stringify([stores.users.get(user.id), stores.users.findByUsername("ADA"), service.list({ limit: 10, skip: 0, sort: [], filters: [] })]);
    expect(reads).not.toMatch(/scrypt|\$6\$/);
  });

  it("stores activation tokens only as hashes, and mails the link", async () => {
    service = makeService({ send: async (m) => void mail.push(m) });
    const user = await create({ firstname: "Ada" });
    const link = await service.issueActivation(ctx(), user.id);
    expect(link).toMatchObject({ url: `https://tether.example.com/portal/activate?token=${link.token}`, expiresAt: "2030-01-01T01:00:00.000Z", email: { to: "ada@example.com", sent: true, error: null } });
    expect(JSON.stringify(db.prepare("SELECT * FROM activation_tokens").all())).not.toContain(link.token);
    expect(mail).toEqual([{ to: "ada@example.com", subject: "Activate your account", text: expect.stringContaining(link.url) }]);
  });

  it("returns the link with the reason when the mail cannot be sent", async () => {
    service = makeService({ send: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:25")) });
    const user = await create();
    const link = await service.issueActivation(ctx(), user.id);
    expect(link.email).toEqual({ to: "ada@example.com", sent: false, error: "connect ECONNREFUSED 127.0.0.1:25" });
  });

  it("opens the MFA enrollment window when MFA becomes required, and closes it when not", async () => {
    const user = await create({ mfa: { enrollmentDays: 10 } });
    expect(user.mfa).toEqual({ required: false, enrollmentDays: 10, enrollmentDeadline: null, status: "not_enrolled" });
    const later = new Date("2030-02-01T00:00:00.000Z");
    const required = await service.update(ctx(later), user.id, UpdateUserSchema.parse({ mfa: { required: true } }));
    expect(required.mfa.enrollmentDeadline).toBe("2030-02-11T00:00:00.000Z");
    // Already required: the window stays where it was.
    const again = await service.update(ctx(new Date("2030-02-05T00:00:00.000Z")), user.id, UpdateUserSchema.parse({ mfa: { required: true, enrollmentDays: 3 } }));
    expect(again.mfa).toMatchObject({ enrollmentDays: 3, enrollmentDeadline: "2030-02-11T00:00:00.000Z" });
    const reset = service.resetMfa(ctx(new Date("2030-03-01T00:00:00.000Z")), user.id);
    expect(reset.mfa).toMatchObject({ status: "pending", enrollmentDeadline: "2030-03-04T00:00:00.000Z" });
    const off = await patch(user, { mfa: { required: false } });
    expect(off.mfa).toMatchObject({ required: false, enrollmentDeadline: null });
  });

  it("refuses a manager that does not exist or is the user", async () => {
    const boss = await create();
    const user = await create({ username: "bob", email: "bob@example.com", manager: boss.id });
    expect(user.manager).toBe(boss.id);
    await expect(patch(user, { manager: user.id })).rejects.toThrow("manager: a user cannot be their own manager");
    await expect(patch(user, { manager: "usr_nobody" })).rejects.toThrow('manager: no user with id "usr_nobody"');
    service.delete(ctx(), boss.id);
    expect(stores.users.get(user.id)!.manager).toBeNull();
  });
});
