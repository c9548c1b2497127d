import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { systemContext } from "../../control-plane/src/domain/actor.js";
import type { ImportMode, ImportResult } from "../../control-plane/src/domain/user-import.js";
import { CreateUserSchema, type User } from "../../control-plane/src/domain/user.js";
import { BindingService } from "../../control-plane/src/services/bindings.js";
import { DeviceRevisions } from "../../control-plane/src/services/device-revisions.js";
import { verifyPassword } from "../../control-plane/src/services/password-hashing.js";
import { loadImportConfig, parseByteSize } from "../../control-plane/src/services/user-import-config.js";
import { UserImportService } from "../../control-plane/src/services/user-import.js";
import { UserGroupService } from "../../control-plane/src/services/user-groups.js";
import { UserService } from "../../control-plane/src/services/users.js";
import { openDatabase, type Db } from "../../control-plane/src/store/db.js";
import { createStores, type Stores } from "../../control-plane/src/store/index.js";

/** The import service on a real SQLite (the real migrations) with the real users, groups and bindings services. */

const NOW = new Date("2030-01-01T00:00:00.000Z");
const ctx = () => systemContext(NOW);
const PASSWORD = "correct horse battery";
const HEADER = "firstname,lastname,username,email,password";

let db: Db;
let stores: Stores;
let users: UserService;
let groups: UserGroupService;
let service: UserImportService;

beforeEach(() => {
  db = openDatabase(":memory:");
  stores = createStores(db);
  const revisions = new DeviceRevisions(stores);
  const userConfig = { passwordMinLength: 12, activationTtlSeconds: 3600, smtpUrl: undefined, mailFrom: undefined };
  users = new UserService(stores, { config: userConfig, publicUrl: () => "https://tether.example.com", directory: revisions });
  groups = new UserGroupService(stores, revisions);
  service = new UserImportService(stores, { users, userGroups: groups, bindings: new BindingService(stores, revisions), userConfig, config: loadImportConfig({}) });
});

const fixture = (name: string) => readFileSync(new URL(`../fixtures/csv/${name}`, import.meta.url), "utf8");
const run = (text: string, options: { dryRun?: boolean; mode?: ImportMode } = {}) =>
  service.run(ctx(), text, { dryRun: options.dryRun ?? false, mode: options.mode ?? "all-or-nothing" });
const portal = (...rows: string[]) => [HEADER, ...rows].join("\r\n");
const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
const user = (username: string): User => stores.users.findByUsername(username)!;
const statuses = (result: ImportResult) => result.rows.map((r) => `${r.row} ${r.username} ${r.status}`);

/** A device as enrollment leaves it (enrollment itself is not what is tested here). */
function addDevice(id: string): void {
  db.prepare("INSERT INTO devices (id, display_name, hostname, os, enrolled_at, cert_serial, cert_not_after) VALUES (?, ?, ?, 'linux', ?, ?, '2099-01-01T00:00:00Z')").run(id, id, id, NOW.toISOString(), id);
}

describe("the portal format", () => {
  it("creates users with a password activated (both hashes set) and those without staged", async () => {
    const result = await run(fixture("portal-basic.csv"));
    expect(result).toMatchObject({ format: "portal", mode: "all-or-nothing", dryRun: false, committed: true });
    expect(result.totals).toEqual({ rows: 2, created: 2, wouldCreate: 0, failed: 0, skipped: 0, staged: 1 });
    expect(result.rows[0]).toEqual({ row: 2, username: "ada", status: "created", userId: user("ada").id, errors: [], groups: [], devices: [] });
    expect(user("ada")).toMatchObject({ firstname: "Ada", lastname: "Lovelace", state: "activated", hasPassword: true, passwordSetAt: NOW.toISOString(), unixUid: 5000, unixGid: 5000 });
    expect(user("alan")).toMatchObject({ state: "staged", hasPassword: false, unixUid: 5001 });
    const hashes = db.prepare("SELECT password_hash AS hash, password_crypt AS crypt FROM users WHERE username = 'ada'").get() as { hash: string; crypt: string };
    expect(await verifyPassword(PASSWORD, hashes.hash)).toBe(true);
    expect(hashes.crypt).toMatch(/^\$6\$rounds=5000\$/);
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });

  it("imports BOM/CRLF, quoted, unicode, sep= and trailing-blank-line files", async () => {
    for (const [name, usernames] of [
      ["portal-bom-crlf.csv", ["grace", "edsger"]],
      ["portal-unicode.csv", ["jose", "zoe", "yamada", "lukasz", "amelie"]],
      ["portal-trailing-empty-lines.csv", ["ken", "dmr"]],
      ["excel-sep-semicolon.csv", ["jdoe", "jroe"]],
      ["excel-sep-comma.csv", ["liskov"]],
    ] as const) {
      const result = await run(fixture(name));
      expect(result.totals.created, name).toBe(usernames.length);
      expect(result.rows.map((r) => r.username)).toEqual(usernames);
    }
    expect(user("yamada")).toMatchObject({ firstname: "山田", lastname: "太郎" });
    expect(user("amelie").lastname).toBe("🙂 Poulain");
    expect(user("jdoe").firstname).toBe("Doe; Jane");
  });

  it("reports rows whose quoted cell hides a line break where a name allows none", async () => {
    const result = await run(fixture("portal-quoted.csv"), { mode: "best-effort" });
    expect(statuses(result)).toEqual(["2 jsmith created", "3 mjones failed", "4 lbreak failed"]);
    expect(result.rows[1]!.errors).toEqual([{ field: "firstname", message: "must not contain control characters" }]);
    expect(user("jsmith")).toMatchObject({ firstname: "Smith, Jr.", lastname: 'O"Brien', state: "activated" });
  });
});

describe("all-or-nothing, best-effort and dry runs", () => {
  const mixed = portal("A,A,good1,good1@example.com,", "B,B,BAD USER,bad@example.com,", `C,C,good2,good2@example.com,${PASSWORD}`);

  it("all-or-nothing (the default) writes nothing when one row fails: every other row is skipped", async () => {
    const events = count("events");
    const result = await run(mixed);
    expect(statuses(result)).toEqual(["2 good1 skipped", "3 BAD USER failed", "4 good2 skipped"]);
    expect(result.committed).toBe(false);
    expect(result.totals).toEqual({ rows: 3, created: 0, wouldCreate: 0, failed: 1, skipped: 2, staged: 0 });
    expect(result.error).toEqual({
      code: "import_failed",
      message: "1 of 3 rows failed, so nothing was imported (all-or-nothing): fix them and import the file again, or use mode=best-effort to import the other rows",
    });
    expect(count("users")).toBe(0);
    expect(count("events")).toBe(events);
  });

  it("best-effort writes every good row and reports the bad ones", async () => {
    const result = await run(mixed, { mode: "best-effort" });
    expect(statuses(result)).toEqual(["2 good1 created", "3 BAD USER failed", "4 good2 created"]);
    expect(result.committed).toBe(true);
    expect(result.error).toBeUndefined();
    expect(result.rows[1]!.errors[0]!.field).toBe("username");
    expect(count("users")).toBe(2);
  });

  it("a dry run checks everything, the directory included, and writes nothing", async () => {
    await users.create(ctx(), CreateUserSchema.parse({ username: "taken", email: "taken@example.com" }));
    const before = { users: count("users"), events: count("events") };
    const result = await run(portal("A,A,fresh,fresh@example.com,", `B,B,taken,b@example.com,${PASSWORD}`, "C,C,c,c@example.com,"), { dryRun: true });
    expect(statuses(result)).toEqual(["2 fresh would_create", "3 taken failed", "4 c would_create"]);
    expect(result).toMatchObject({ dryRun: true, committed: false });
    expect(result.error).toBeUndefined();
    expect(result.totals).toMatchObject({ wouldCreate: 2, failed: 1, staged: 2 });
    expect({ users: count("users"), events: count("events") }).toEqual(before);
  });

  it("a file where every row fails writes nothing in best-effort either", async () => {
    const result = await run(portal("A,A,BAD,bad@example.com,"), { mode: "best-effort" });
    expect(result.committed).toBe(false);
    expect(count("users")).toBe(0);
  });
});

describe("duplicates", () => {
  it("within the file: every row sharing a username or email (without case) fails, naming the others", async () => {
    const result = await run(fixture("portal-duplicates.csv"), { mode: "best-effort" });
    expect(statuses(result)).toEqual(["2 ada1 failed", "3 ADA1 failed", "4 ada3 failed", "5 bob created"]);
    expect(result.rows[0]!.errors).toEqual([
      { field: "username", message: "the same username as row 3 of this file" },
      { field: "email", message: "the same email as row 4 of this file" },
    ]);
    // ADA1 is no valid username, and still a duplicate of ada1.
    expect(result.rows[1]!.errors.map((e) => e.field)).toEqual(["username", "username"]);
    expect(result.rows[2]!.errors).toEqual([{ field: "email", message: "the same email as row 2 of this file" }]);
  });

  it("within the file: employee identifiers (without case) and uids ('05000' is 5000)", async () => {
    const result = await run(
      ["Username,Email,employeeIdentifier,unix_uid", "a,a@example.com,E1,5000", "b,b@example.com,e1,", "c,c@example.com,,05000"].join("\n"),
      { mode: "best-effort" },
    );
    expect(result.rows.map((r) => r.errors.map((e) => e.message))).toEqual([
      ["the same employee identifier as row 3 of this file", "the same uid as row 4 of this file"],
      ["the same employee identifier as row 2 of this file"],
      ["the same uid as row 2 of this file"],
    ]);
  });

  it("against the directory: username, email, employee identifier and uid", async () => {
    await users.create(ctx(), CreateUserSchema.parse({ username: "ada", email: "ada@example.com", employeeIdentifier: "E-7", unixUid: 6000 }));
    const result = await run(
      ["Username,Email,employeeIdentifier,unix_uid", "ada,new@example.com,,", "bob,ADA@example.COM,,", "cy,cy@example.com,e-7,", "dee,dee@example.com,,6000", "eve,eve@example.com,,"].join("\n"),
      { mode: "best-effort" },
    );
    expect(result.rows.map((r) => r.errors)).toEqual([
      [{ field: "Username", message: 'a user named "ada" already exists (usernames are compared without case)' }],
      [{ field: "Email", message: "another user already has the email ADA@example.COM (compared without case)" }],
      [{ field: "employeeIdentifier", message: 'another user already has the employee identifier "e-7"' }],
      [{ field: "unix_uid", message: "uid 6000 belongs to another user" }],
      [],
    ]);
    expect(user("eve").unixUid).toBe(6001);
  });

  it("a clash that appears while passwords are hashed is caught inside the write", async () => {
    const pending = run(portal(`A,A,racer,racer@example.com,${PASSWORD}`, "B,B,other,other@example.com,"));
    // The import is now hashing; meanwhile someone creates the same username.
    await users.create(ctx(), CreateUserSchema.parse({ username: "racer", email: "elsewhere@example.com" }));
    const result = await pending;
    expect(statuses(result)).toEqual(["2 racer failed", "3 other skipped"]);
    expect(count("users")).toBe(1);
  });
});

describe("the extended format", () => {
  it("applies every column: fields, manager (later in the file), MFA, groups, and the device binding with sudo", async () => {
    const engineering = groups.create(ctx(), { name: "engineering", description: "", attributes: { sudo: { enabled: false, withoutPassword: false }, posixGroup: null, samba: { enabled: false } }, customAttributes: [] });
    const ops = groups.create(ctx(), { name: "ops team", description: "", attributes: { sudo: { enabled: false, withoutPassword: false }, posixGroup: null, samba: { enabled: false } }, customAttributes: [] });
    addDevice("dev_fixture");

    const result = await run(fixture("extended-full.csv"));
    expect(result.totals).toMatchObject({ created: 2, failed: 0 });
    const ada = user("ada");
    const boss = user("boss");
    expect(result.rows[0]).toEqual({
      row: 2,
      username: "ada",
      status: "created",
      userId: ada.id,
      errors: [],
      groups: [
        { name: "engineering", status: "added" },
        { name: "Ops Team", status: "added" },
      ],
      devices: [{ deviceId: "dev_fixture", administrator: true, status: "added" }],
    });
    expect(ada).toMatchObject({
      manager: boss.id,
      middlename: "Augusta",
      alternateEmail: "ada.alt@example.com",
      employeeIdentifier: "E-1001",
      costCenter: "CC-42",
      unixUid: 6001,
      unixGid: 7001,
      state: "staged",
      mfa: { required: true, enrollmentDays: 14, enrollmentDeadline: "2030-01-15T00:00:00.000Z", status: "pending" },
      attributes: [
        { name: "shirtSize", value: "M" },
        { name: "badge", value: "B-17" },
      ],
    });
    expect(ada.addresses).toHaveLength(2);
    expect(ada.phoneNumbers).toHaveLength(5);
    expect(boss).toMatchObject({ manager: null, unixUid: 6002, unixGid: 6002, mfa: { required: false } });

    expect(groups.get(engineering.id).memberCount).toBe(2);
    expect(groups.get(ops.id).memberCount).toBe(1);
    expect(stores.bindings.get({ subjectType: "user", subjectId: ada.id, objectType: "device", objectId: "dev_fixture" })?.sudo).toEqual({ enabled: true, withoutPassword: false });
    expect(stores.bindings.get({ subjectType: "user", subjectId: boss.id, objectType: "device", objectId: "dev_fixture" })?.sudo).toEqual({ enabled: false, withoutPassword: false });
    const revision = db.prepare("SELECT desired_revision AS r FROM devices WHERE id = 'dev_fixture'").get() as { r: number };
    expect(revision.r).toBeGreaterThan(0);
  });

  it("unknown groups and devices fail their row, naming the column", async () => {
    const result = await run(["Username,Email,Group1,Group2,SystemID", "ada,ada@example.com,,nope,dev_missing"].join("\n"));
    expect(result.rows[0]).toMatchObject({
      status: "failed",
      errors: [
        { field: "Group2", message: 'no user group named "nope"; create it first (POST /api/v1/user-groups)' },
        { field: "SystemID", message: 'no device with id "dev_missing"' },
      ],
      groups: [{ name: "nope", status: "failed" }],
      devices: [{ deviceId: "dev_missing", administrator: null, status: "failed" }],
    });
  });

  it("managers: by username or id in the directory, or a row of the file; unknown, self, loops and failed rows are refused", async () => {
    const chief = await users.create(ctx(), CreateUserSchema.parse({ username: "chief", email: "chief@example.com" }));
    const result = await run(
      [
        "Username,Email,manager",
        "a,a@example.com,chief",
        `b,b@example.com,${chief.id}`,
        "c,c@example.com,nobody",
        "d,d@example.com,d",
        "e,e@example.com,f",
        "f,f@example.com,e",
        "g,g@example.com,BAD",
        "BAD,bad@example.com,",
        "h,h@example.com,g",
        "i,i@example.com,a",
      ].join("\n"),
      { mode: "best-effort" },
    );
    expect(result.rows.map((r) => `${r.username}: ${r.errors.map((e) => `${e.field} ${e.message}`).join("; ")}`)).toEqual([
      "a: ",
      "b: ",
      'c: manager no user with the id or username "nobody", in the directory or in this file',
      "d: manager a user cannot be their own manager",
      "e: manager the managers form a loop: rows 6 → 7 → 6",
      "f: manager the managers form a loop: rows 7 → 6 → 7",
      "g: manager the manager's own row (9) failed",
      expect.stringMatching(/^BAD: Username /),
      "h: manager the manager's own row (8) failed",
      "i: ",
    ]);
    expect(user("a").manager).toBe(chief.id);
    expect(user("b").manager).toBe(chief.id);
    expect(user("i").manager).toBe(user("a").id);
  });

  it("uids: rows without one get the next free ones, past every uid the file sets itself", async () => {
    await run(["Username,Email,unix_uid", "a,a@example.com,", "b,b@example.com,5001", "c,c@example.com,", "d,d@example.com,1500"].join("\n"));
    expect(["a", "b", "c", "d"].map((name) => [user(name).unixUid, user(name).unixGid])).toEqual([
      [5002, 5002],
      [5001, 5001],
      [5003, 5003],
      [1500, 1500],
    ]);
  });
});

describe("the audit log", () => {
  it("has each created user (via csv-import), each group change and binding, and the import itself; never a password", async () => {
    groups.create(ctx(), { name: "eng", description: "", attributes: { sudo: { enabled: false, withoutPassword: false }, posixGroup: null, samba: { enabled: false } }, customAttributes: [] });
    addDevice("dev_a");
    await run(["Username,Email,Password,Group1,SystemID,Administrator", `ada,ada@example.com,${PASSWORD},eng,dev_a,true`, "bob,bob@example.com,,eng,,"].join("\n"));
    const events = db.prepare("SELECT action, details FROM events ORDER BY id").all() as { action: string; details: string }[];
    expect(events.map((e) => e.action)).toEqual(["user-group.created", "user.created", "user.created", "user-group.members-added", "binding.added", "users.imported"]);
    expect(JSON.parse(events[1]!.details)).toEqual({ username: "ada", email: "ada@example.com", state: "activated", passwordSet: true, via: "csv-import" });
    expect(JSON.parse(events.at(-1)!.details)).toEqual({ format: "extended", mode: "all-or-nothing", created: 2, groups: 1, bindings: 1 });
    expect(JSON.stringify(events)).not.toContain(PASSWORD);
  });
});

describe("scale", () => {
  it("imports 10,000 generated rows in one go", async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => `First${i},Last${i},user${i},user${i}@example.com,`);
    const result = await run(portal(...rows));
    expect(result.totals).toMatchObject({ rows: 10_000, created: 10_000, staged: 10_000 });
    expect(count("users")).toBe(10_000);
    expect(user("user9999").unixUid).toBe(5000 + 9999);
  }, 60_000);
});

describe("settings", () => {
  it("TETHER_MAX_IMPORT is a size in body-parser's syntax, TETHER_MAX_IMPORT_ROWS a whole number", () => {
    expect(loadImportConfig({})).toMatchObject({ maxBytesText: "20mb", maxBytes: 20 * 1024 * 1024, maxRows: 50_000 });
    expect(loadImportConfig({ TETHER_MAX_IMPORT: "512kb", TETHER_MAX_IMPORT_ROWS: "10" })).toMatchObject({ maxBytes: 512 * 1024, maxRows: 10 });
    expect(parseByteSize("1048576")).toBe(1048576);
    expect(parseByteSize("1.5MB")).toBe(1.5 * 1024 * 1024);
    expect(() => loadImportConfig({ TETHER_MAX_IMPORT: "lots" })).toThrow('TETHER_MAX_IMPORT: "lots" is not a size such as 20mb, 512kb or 1048576');
    expect(() => loadImportConfig({ TETHER_MAX_IMPORT_ROWS: "0" })).toThrow("TETHER_MAX_IMPORT_ROWS");
  });
});
