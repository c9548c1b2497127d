import { readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { CONFIRMATION_COLUMNS, EXTENDED_COLUMNS, PORTAL_COLUMNS, type ImportResult } from "../../control-plane/src/domain/user-import.js";
import { AppError } from "../../control-plane/src/errors.js";
import { confirmationCsv, readUserCsv, templateCsv, type UserCsv } from "../../control-plane/src/services/user-import-csv.js";

/** Reading the import's CSV: the fixture corpus in test/fixtures/csv, as real exporters write it. */

const fixture = (name: string) => readFileSync(new URL(`../fixtures/csv/${name}`, import.meta.url), "utf8");
const read = (name: string, maxRows = 50_000) => readUserCsv(fixture(name), maxRows);

/** Each row as {row, Username, Email, …} for the columns asked. */
function rows(csv: UserCsv, columns: string[] = ["Username"]): Record<string, string | number | undefined>[] {
  return csv.records.map((r) => ({ row: r.row, ...Object.fromEntries(columns.map((c) => [c, r.cells.get(c)])) }));
}

function failure(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected an AppError");
}

describe("the portal format", () => {
  it("is the exact header, read under the extended names, and spelled as the file spells it in messages", () => {
    const csv = read("portal-basic.csv");
    expect(csv.format).toBe("portal");
    expect(rows(csv, ["FirstName", "LastName", "Username", "Email", "Password"])).toEqual([
      { row: 2, FirstName: "Ada", LastName: "Lovelace", Username: "ada", Email: "ada@example.com", Password: "correct horse battery" },
      { row: 3, FirstName: "Alan", LastName: "Turing", Username: "alan", Email: "alan@example.com", Password: "" },
    ]);
    expect(csv.spelling.get("Email")).toBe("email");
  });

  it("takes a UTF-8 BOM and CRLF line ends", () => {
    const csv = read("portal-bom-crlf.csv");
    expect(csv.format).toBe("portal");
    expect(rows(csv, ["FirstName", "Username"])).toEqual([
      { row: 2, FirstName: "Grace", Username: "grace" },
      { row: 3, FirstName: "Edsger", Username: "edsger" },
    ]);
  });

  it("reads quoted cells with commas, doubled quotes and line breaks, counting rows as records", () => {
    const csv = read("portal-quoted.csv");
    expect(rows(csv, ["FirstName", "LastName", "Username", "Password"])).toEqual([
      { row: 2, FirstName: "Smith, Jr.", LastName: 'O"Brien', Username: "jsmith", Password: 'pass, with "quotes", ok' },
      { row: 3, FirstName: "Mary\nAnn", LastName: "Jones", Username: "mjones", Password: "" },
      { row: 4, FirstName: "Line\r\nBreak", LastName: "Ok", Username: "lbreak", Password: "" },
    ]);
  });

  it("keeps unicode names as they are", () => {
    expect(rows(read("portal-unicode.csv"), ["FirstName", "LastName"]).map((r) => `${r.FirstName} ${r.LastName}`)).toEqual([
      "José Müller-Lüdenscheidt",
      "Zoë Ångström",
      "山田 太郎",
      "Łukasz Żółć",
      "Amélie 🙂 Poulain",
    ]);
  });

  it("skips blank lines and rows of empty cells (Excel's trailing ,,,,)", () => {
    expect(rows(read("portal-trailing-empty-lines.csv"))).toEqual([
      { row: 2, Username: "ken" },
      { row: 3, Username: "dmr" },
    ]);
  });

  it("takes Excel's sep= first line, and its delimiter", () => {
    const semicolon = read("excel-sep-semicolon.csv");
    expect(semicolon.format).toBe("portal");
    expect(rows(semicolon, ["FirstName", "Username"])).toEqual([
      { row: 2, FirstName: "Doe; Jane", Username: "jdoe" },
      { row: 3, FirstName: "John", Username: "jroe" },
    ]);
    expect(rows(read("excel-sep-comma.csv"))).toEqual([{ row: 2, Username: "liskov" }]);
  });

  it("refuses a header in another case, naming the header it must be", () => {
    const error = failure(() => read("portal-wrong-header-case.csv"));
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      "the header must be exactly firstname,lastname,username,email,password (the portal format; names are case-sensitive), not Firstname,Lastname,Username,Email,Password",
    );
  });

  it("says when the file is separated by semicolons without a sep= line", () => {
    expect(failure(() => read("semicolon-without-sep.csv")).message).toMatch(/separated by ";", not commas; save it with commas or make its first line sep=;/);
  });

  it("reports rows with more or fewer cells than columns on those rows", () => {
    const csv = read("cell-count.csv");
    expect(csv.records.map((r) => [r.row, r.cellCountMismatch])).toEqual([
      [2, 6],
      [3, 4],
      [4, null],
    ]);
  });
});

describe("the extended format", () => {
  it("is any header of known extended columns; numbered Group and Attribute columns are open-ended", () => {
    const csv = read("extended-full.csv");
    expect(csv.format).toBe("extended");
    expect(csv.records).toHaveLength(2);
    expect(csv.records[0]!.cells.get("description")).toBe("Wrote the first program,\nfor the Analytical Engine");
    expect(csv.records[1]!.row).toBe(3);
    const wide = readUserCsv("Username,Email,Group1,Group12,Attribute7_name,Attribute7_value\nada,ada@example.com,a,b,c,d\n", 10);
    expect(wide.records[0]!.cells.get("Group12")).toBe("b");
  });

  it("rejects unknown columns by name", () => {
    const error = failure(() => read("extended-unknown-column.csv"));
    expect(error.status).toBe(400);
    expect(error.message).toContain('unknown column "favouriteColour"');
    expect(error.details).toEqual([{ field: "favouriteColour", reason: 'unknown column "favouriteColour"' }]);
  });

  it("is case-sensitive, suggesting the right spelling of each miscased column", () => {
    const error = failure(() => read("extended-miscased.csv"));
    expect(error.details).toEqual([
      { field: "firstname", reason: 'unknown column "firstname" (names are case-sensitive: did you mean "FirstName"?)' },
      { field: "jobtitle", reason: 'unknown column "jobtitle" (names are case-sensitive: did you mean "jobTitle"?)' },
      { field: "group1", reason: 'unknown column "group1" (names are case-sensitive: did you mean "Group1"?)' },
    ]);
  });

  it("needs Username and Email, each column once, and both columns of an attribute", () => {
    const error = failure(() => readUserCsv("FirstName,FirstName,Attribute1_name\nA,B,C\n", 10));
    expect(error.details).toEqual([
      { field: "FirstName", reason: 'column "FirstName" appears twice' },
      { field: "Username", reason: 'the column "Username" is missing' },
      { field: "Email", reason: 'the column "Email" is missing' },
      { field: "Attribute1_value", reason: 'Attribute1_name and Attribute1_value go together: the column "Attribute1_value" is missing' },
    ]);
  });
});

describe("file-level problems", () => {
  it("a broken quote is a 400 naming the line, never the text around it (it may be a password)", () => {
    const error = failure(() => read("malformed-quote.csv"));
    expect(error.status).toBe(400);
    expect(error.message).toBe('the file is not valid CSV at line 2: a quoted cell has more text after its closing quote (inside a quoted cell, write a quote as two: "")');
    expect(JSON.stringify(error)).not.toContain("s3cret");
  });

  it("an empty file, or a header without rows, is a 400", () => {
    expect(failure(() => readUserCsv("", 10)).message).toMatch(/^the file is empty: its first line must be the header/);
    expect(failure(() => readUserCsv("\uFEFF\r\n\r\n", 10)).message).toMatch(/^the file is empty/);
    expect(failure(() => readUserCsv(`${PORTAL_COLUMNS.join(",")}\r\n`, 10)).message).toBe("the file has a header but no rows");
  });

  it("more rows than the limit is a 413 naming the limit", () => {
    const text = [PORTAL_COLUMNS.join(","), ...Array.from({ length: 4 }, (_, i) => `A,B,u${i},u${i}@example.com,`)].join("\n");
    expect(readUserCsv(text, 4).records).toHaveLength(4);
    const error = failure(() => readUserCsv(text, 3));
    expect(error.status).toBe(413);
    expect(error.code).toBe("too_many_rows");
    expect(error.message).toBe("the file has more than 3 rows, the most one import takes (TETHER_MAX_IMPORT_ROWS); split it into smaller files");
  });
});

describe("writing", () => {
  it("the templates are the headers of the formats", () => {
    expect(templateCsv("portal")).toBe("firstname,lastname,username,email,password\r\n");
    const extended = parse(templateCsv("extended")) as string[][];
    expect(extended).toHaveLength(1);
    expect(extended[0]).toEqual([...EXTENDED_COLUMNS, "Group1", "Group2", "Group3", "Attribute1_name", "Attribute1_value", "Attribute2_name", "Attribute2_value"]);
    // The template is a valid extended file once a row is added.
    expect(readUserCsv(`${templateCsv("extended")}A,B,ada,ada@example.com\n`, 10).format).toBe("extended");
  });

  it("the confirmation CSV has one line per row, a BOM for Excel, and no cell a spreadsheet would run", () => {
    const result: ImportResult = {
      format: "extended",
      mode: "best-effort",
      dryRun: false,
      committed: true,
      totals: { rows: 2, created: 1, wouldCreate: 0, failed: 1, skipped: 0, staged: 1 },
      rows: [
        { row: 2, username: "ada", status: "created", userId: "usr_1", errors: [], groups: [{ name: "eng", status: "added" }], devices: [{ deviceId: "dev_1", administrator: true, status: "added" }] },
        {
          row: 3,
          username: "bob",
          status: "failed",
          userId: null,
          errors: [
            { field: "Group1", message: 'no user group named "=HYPERLINK(1)"' },
            { field: "Email", message: "bad" },
          ],
          groups: [{ name: "=HYPERLINK(1)", status: "failed" }],
          devices: [],
        },
      ],
    };
    const text = confirmationCsv(result);
    expect(text.startsWith("\uFEFFRow,Username,Status,UserID,Errors,Groups,Devices\r\n")).toBe(true);
    const lines = parse(text, { bom: true }) as string[][];
    expect(lines[0]).toEqual([...CONFIRMATION_COLUMNS]);
    expect(lines[1]).toEqual(["2", "ada", "created", "usr_1", "", "eng: added", "dev_1 (administrator): added"]);
    expect(lines[2]).toEqual(["3", "bob", "failed", "", 'Group1: no user group named "=HYPERLINK(1)"; Email: bad', "'=HYPERLINK(1): failed", ""]);
  });
});
