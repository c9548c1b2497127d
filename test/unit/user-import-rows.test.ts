import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readUserCsv } from "../../control-plane/src/services/user-import-csv.js";
import { planRow, type RowPlan } from "../../control-plane/src/services/user-import-rows.js";

/** One CSV row read into a user, its groups and its device: every extended column lands in its field. */

const fixture = (name: string) => readFileSync(new URL(`../fixtures/csv/${name}`, import.meta.url), "utf8");

function plans(text: string): RowPlan[] {
  const csv = readUserCsv(text, 1000);
  return csv.records.map((record) => planRow(record, csv, 12));
}

/** An extended file of the given columns and one row of values. */
const one = (cells: Record<string, string>) =>
  plans(`${Object.keys(cells).join(",")}\n${Object.values(cells).map((v) => `"${v.replace(/"/g, '""')}"`).join(",")}\n`)[0]!;
const base = { Username: "ada", Email: "ada@example.com" };

describe("every extended column is applied", () => {
  it("reads the full fixture row into the create body, groups and device", () => {
    const [ada, boss] = plans(fixture("extended-full.csv"));
    expect(ada!.errors).toEqual([]);
    expect(ada!.input).toEqual({
      username: "ada",
      email: "ada@example.com",
      firstname: "Ada",
      lastname: "Lovelace",
      middlename: "Augusta",
      displayname: "",
      alternateEmail: "ada.alt@example.com",
      jobTitle: "Countess",
      employeeIdentifier: "E-1001",
      department: "R&D",
      costCenter: "CC-42",
      company: "Analytical Engines Ltd",
      employeeType: "Full-time",
      description: "Wrote the first program,\nfor the Analytical Engine",
      location: "London",
      addresses: [
        { type: "home", streetAddress: "12 St James's Square", poBox: "PO 7", locality: "London", region: "Greater London", postalCode: "SW1Y 4JH", country: "UK" },
        { type: "work", streetAddress: "1 Engine Row", poBox: "", locality: "Cambridge", region: "Cambs", postalCode: "CB2 1TN", country: "UK" },
      ],
      phoneNumbers: [
        { type: "mobile", number: "+44 20 7946 0001" },
        { type: "home", number: "+44 20 7946 0002" },
        { type: "work", number: "+44 20 7946 0003" },
        { type: "work_mobile", number: "+44 7700 900004" },
        { type: "work_fax", number: "+44 20 7946 0005" },
      ],
      unixUid: 6001,
      unixGid: 7001,
      mfa: { required: true, enrollmentDays: 14 },
      attributes: [
        { name: "shirtSize", value: "M" },
        { name: "badge", value: "B-17" },
      ],
      // Defaults of the fields no column sets (the manager is resolved by the import).
      manager: null,
      accountLocked: false,
      sudo: false,
      passwordlessSudo: false,
      sshKeys: [],
      shell: "/bin/bash",
      passwordNeverExpires: false,
      passwordExpiresAt: null,
    });
    expect(ada!.password).toBeUndefined();
    expect(ada!.manager).toBe("boss");
    expect(ada!.groups).toEqual([
      { column: "Group1", name: "engineering" },
      { column: "Group2", name: "Ops Team" },
    ]);
    expect(ada!.device).toEqual({ id: "dev_fixture", administrator: true });
    expect(boss!.device).toEqual({ id: "dev_fixture", administrator: false });
    expect(boss!.input?.mfa).toEqual({ required: false, enrollmentDays: 7 });
  });

  it("takes the password as written (spaces and all) and checks the policy without repeating it", () => {
    const plan = one({ ...base, Password: "  twelve chars  " });
    expect(plan.password).toBe("  twelve chars  ");
    expect(plan.errors).toEqual([]);
    const short = one({ ...base, Password: "ada-short" });
    expect(short.errors).toEqual([
      { field: "Password", message: "must be at least 12 characters long (it has 9)" },
      { field: "Password", message: "must not contain the username" },
    ]);
    expect(short.input).toBeUndefined();
  });

  it("Administrator is True or False (any case) and needs a SystemID; empty says nothing about sudo", () => {
    expect(one({ ...base, SystemID: "dev_1", Administrator: "TRUE" }).device).toEqual({ id: "dev_1", administrator: true });
    expect(one({ ...base, SystemID: "dev_1", Administrator: "" }).device).toEqual({ id: "dev_1", administrator: null });
    expect(one({ ...base, SystemID: "dev_1", Administrator: "yes" }).errors).toEqual([{ field: "Administrator", message: "must be True or False" }]);
    expect(one({ ...base, Administrator: "True" }).errors).toEqual([{ field: "Administrator", message: "needs a SystemID on the same row: it is the user's sudo on that device" }]);
  });

  it("names the column of every bad cell, the schema's complaints included", () => {
    const plan = one({
      ...base,
      Email: "not-an-email",
      unix_uid: "12a",
      unix_guid: "999",
      EnrollmentDays: "400",
      enable_user_portal_multifactor: "maybe",
      work_postalCode: "x".repeat(30),
      home_number: "no digits",
      Attribute1_name: "1bad",
      Attribute1_value: "v",
      Attribute2_name: "",
      Attribute2_value: "orphan",
      recoveryEmail: "ada@recovery.example.com",
    });
    expect(plan.input).toBeUndefined();
    expect(plan.errors.map((e) => e.field).sort()).toEqual(
      ["Attribute1_name", "Attribute2_name", "Email", "EnrollmentDays", "enable_user_portal_multifactor", "home_number", "recoveryEmail", "unix_guid", "unix_uid", "work_postalCode"].sort(),
    );
    expect(plan.errors.find((e) => e.field === "recoveryEmail")?.message).toMatch(/^Tether keeps no recovery email .* move the address to alternateEmail or leave recoveryEmail empty$/);
    expect(plan.errors.find((e) => e.field === "unix_uid")?.message).toBe("must be a whole number");
  });

  it("refuses a username outside the rule, with the rule", () => {
    const plan = one({ ...base, Username: "Ada.Lovelace" });
    expect(plan.errors).toHaveLength(1);
    expect(plan.errors[0]!.field).toBe("Username");
    expect(plan.errors[0]!.message).toMatch(/lower-case/);
  });

  it("lists each group once, whatever its case, and skips empty group cells", () => {
    expect(one({ ...base, Group1: "Eng", Group2: "", Group3: "eng", Group4: "Ops" }).groups).toEqual([
      { column: "Group1", name: "Eng" },
      { column: "Group4", name: "Ops" },
    ]);
  });

  it("reports a row whose cells do not match the header, and nothing else about it", () => {
    const [extra, short, fine] = plans(fixture("cell-count.csv"));
    expect(extra!.errors).toEqual([{ field: "row", message: "the row has 6 cells but the header has 5 columns" }]);
    expect(short!.errors).toEqual([{ field: "row", message: "the row has 4 cells but the header has 5 columns" }]);
    expect(fine!.errors).toEqual([]);
  });

  it("names portal columns as the portal file spells them", () => {
    const [jsmith, mary] = plans(fixture("portal-quoted.csv"));
    expect(jsmith!.errors).toEqual([]);
    expect(jsmith!.input).toMatchObject({ firstname: "Smith, Jr.", lastname: 'O"Brien' });
    expect(mary!.errors).toEqual([{ field: "firstname", message: "must not contain control characters" }]);
  });
});
