import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEVICE_LIST } from "../../control-plane/src/domain/device.js";
import { EVENT_LIST } from "../../control-plane/src/domain/event.js";
import { DEFAULT_LIMIT, MAX_LIMIT, parseListQuery, type ListSpec, type RawListParams } from "../../control-plane/src/domain/list-query.js";
import { ValidationError } from "../../control-plane/src/errors.js";
import { openDatabase, type Db } from "../../control-plane/src/store/db.js";
import { buildListSql, qualify, qualifyColumns } from "../../control-plane/src/store/list-sql.js";

describe("parseListQuery", () => {
  it("defaults to the first page of 100, unsorted and unfiltered", () => {
    expect(parseListQuery({}, DEVICE_LIST)).toEqual({ limit: DEFAULT_LIMIT, skip: 0, sort: [], filters: [] });
    expect(parseListQuery({ limit: "", skip: "" }, DEVICE_LIST)).toMatchObject({ limit: DEFAULT_LIMIT, skip: 0 });
  });

  it("reads limit and skip within their bounds", () => {
    expect(parseListQuery({ limit: "1", skip: "250" }, DEVICE_LIST)).toMatchObject({ limit: 1, skip: 250 });
    expect(parseListQuery({ limit: String(MAX_LIMIT) }, DEVICE_LIST).limit).toBe(MAX_LIMIT);
  });

  it.each([
    [{ limit: "0" }, "limit"],
    [{ limit: String(MAX_LIMIT + 1) }, "limit"],
    [{ limit: "ten" }, "limit"],
    [{ limit: "-5" }, "limit"],
    [{ limit: "2.5" }, "limit"],
    [{ skip: "-1" }, "skip"],
    [{ skip: "1e3" }, "skip"],
  ])("refuses %j naming %s", (raw, field) => {
    expect(() => parseListQuery(raw, DEVICE_LIST)).toThrowError(expect.objectContaining({ status: 400, details: [expect.objectContaining({ field })] }));
  });

  it("reads sort keys, a leading - meaning descending", () => {
    expect(parseListQuery({ sort: "-lastContact,hostname" }, DEVICE_LIST).sort).toEqual([
      { field: "lastContact", descending: true },
      { field: "hostname", descending: false },
    ]);
  });

  it("refuses a sort by a field the resource does not offer, listing the ones it does", () => {
    const error = catchError(() => parseListQuery({ sort: "-cert_serial" }, DEVICE_LIST));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.details).toEqual([{ field: "sort", reason: expect.stringContaining('"cert_serial"') }]);
    expect(error.message).toContain("hostname");
    // Filterable but not sortable.
    expect(() => parseListQuery({ sort: "actorId" }, EVENT_LIST)).toThrow(ValidationError);
  });

  it("reads filters: one or repeated, the value keeping its colons, and $op as op", () => {
    expect(parseListQuery({ filter: "hostname:eq:a:b" }, DEVICE_LIST).filters).toEqual([{ field: "hostname", op: "eq", value: "a:b" }]);
    expect(parseListQuery({ filter: ["os:$ne:linux", "hostname:search:"] }, DEVICE_LIST).filters).toEqual([
      { field: "os", op: "ne", value: "linux" },
      { field: "hostname", op: "search", value: "" },
    ]);
  });

  it("splits in values on |", () => {
    expect(parseListQuery({ filter: "os:in:linux|windows" }, DEVICE_LIST).filters).toEqual([{ field: "os", op: "in", value: ["linux", "windows"] }]);
  });

  it("checks values of enum-like fields, except for search", () => {
    expect(parseListQuery({ filter: "status:in:online|offline" }, DEVICE_LIST).filters[0]?.value).toEqual(["online", "offline"]);
    expect(parseListQuery({ filter: "status:search:onl" }, DEVICE_LIST).filters[0]?.value).toBe("onl");
    expect(() => parseListQuery({ filter: "status:in:online|asleep" }, DEVICE_LIST)).toThrow(/"asleep" is not a valid status/);
  });

  it.each<[string, RawListParams["filter"], RegExp]>([
    ["no operator", "hostname", /field:op:value/],
    ["no value part", "hostname:eq", /field:op:value/],
    ["an unknown field", "serial:eq:1", /cannot filter by "serial"/],
    ["a column name instead of a field", "display_name:eq:x", /cannot filter by "display_name"/],
    ["an unknown operator", "hostname:like:x", /unknown operator "like"/],
    ["a bad filter among good ones", ["hostname:eq:x", "os:regex:x"], /unknown operator "regex"/],
  ])("refuses a filter with %s", (_what, filter, message) => {
    const error = catchError(() => parseListQuery({ filter }, DEVICE_LIST));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.details).toEqual([{ field: "filter", reason: expect.stringMatching(message) }]);
  });
});

describe("buildListSql against SQLite", () => {
  let db: Db;
  /** Ids of the devices a query selects, in its order. */
  const select = (raw: RawListParams, spec: ListSpec = DEVICE_LIST) => {
    const sql = buildListSql(parseListQuery(raw, spec), spec);
    return (db.prepare(`SELECT id FROM devices ${sql.where} ${sql.orderBy}`).all(...sql.params) as { id: string }[]).map((r) => r.id);
  };

  beforeAll(() => {
    db = openDatabase(":memory:");
    const insert = db.prepare(
      "INSERT INTO devices (id, display_name, hostname, os, status, enrolled_at, cert_serial, cert_not_after) VALUES (?, ?, ?, ?, ?, ?, 's', 'x')",
    );
    const rows: [string, string, string, string, string][] = [
      ["d1", "web-1", "linux", "online", "2026-01-01T00:00:00.000Z"],
      ["d2", "web-2", "linux", "offline", "2026-01-02T00:00:00.000Z"],
      ["d3", "db-1", "windows", "offline", "2026-01-03T00:00:00.000Z"],
      ["d4", "100%_sure", "darwin", "online", "2026-01-04T00:00:00.000Z"],
      ["d5", "100x-sure", "darwin", "offline", "2026-01-05T00:00:00.000Z"],
      ["d6", "back\\slash", "linux", "offline", "2026-01-06T00:00:00.000Z"],
    ];
    for (const [id, hostname, os, status, at] of rows) insert.run(id, hostname, hostname, os, status, at);
  });
  afterAll(() => db.close());

  it("selects everything in id order without filters or sort", () => {
    expect(select({})).toEqual(["d1", "d2", "d3", "d4", "d5", "d6"]);
  });

  it.each<[string, string, string[]]>([
    ["eq", "os:eq:windows", ["d3"]],
    ["ne", "os:ne:linux", ["d3", "d4", "d5"]],
    ["lt", "enrolledAt:lt:2026-01-03", ["d1", "d2"]],
    ["lte", "enrolledAt:lte:2026-01-03T00:00:00.000Z", ["d1", "d2", "d3"]],
    ["gt", "enrolledAt:gt:2026-01-05", ["d5", "d6"]],
    ["gte", "enrolledAt:gte:2026-01-05T00:00:00.000Z", ["d5", "d6"]],
    ["in", "os:in:windows|darwin", ["d3", "d4", "d5"]],
    ["search (substring, case-insensitive)", "hostname:search:WEB", ["d1", "d2"]],
  ])("filters with %s", (_op, filter, expected) => {
    expect(select({ filter })).toEqual(expected);
  });

  it("combines filters with AND", () => {
    expect(select({ filter: ["os:eq:linux", "status:eq:offline"] })).toEqual(["d2", "d6"]);
  });

  it("searches %, _ and \\ literally, not as LIKE wildcards", () => {
    expect(select({ filter: "hostname:search:%" })).toEqual(["d4"]);
    expect(select({ filter: "hostname:search:_" })).toEqual(["d4"]);
    expect(select({ filter: "hostname:search:%_s" })).toEqual(["d4"]);
    expect(select({ filter: "hostname:search:\\" })).toEqual(["d6"]);
  });

  it("binds values, so SQL in a value is only text", () => {
    expect(select({ filter: "hostname:eq:' OR 1=1 --" })).toEqual([]);
    const sql = buildListSql(parseListQuery({ filter: "hostname:eq:' OR 1=1 --" }, DEVICE_LIST), DEVICE_LIST);
    expect(sql.where).toBe("WHERE hostname = ?");
    expect(sql.params).toEqual(["' OR 1=1 --"]);
  });

  it("sorts by several keys, breaking ties by id in the direction of the last key", () => {
    expect(select({ sort: "os,-hostname" })).toEqual(["d5", "d4", "d2", "d1", "d6", "d3"]);
    expect(select({ sort: "-status" })).toEqual(["d4", "d1", "d6", "d5", "d3", "d2"]);
    expect(select({ sort: "status" })).toEqual(["d2", "d3", "d5", "d6", "d1", "d4"]);
  });

  it("uses the resource's default sort when the request names none", () => {
    expect(buildListSql(parseListQuery({}, EVENT_LIST), EVENT_LIST).orderBy).toBe("ORDER BY at DESC, id DESC");
    expect(buildListSql(parseListQuery({ sort: "action" }, EVENT_LIST), EVENT_LIST).orderBy).toBe("ORDER BY action ASC, id ASC");
  });

  it("puts the caller's own conditions first and keeps their parameters in order", () => {
    const query = parseListQuery({ filter: "os:eq:linux" }, DEVICE_LIST);
    const sql = buildListSql(query, DEVICE_LIST, ["status = ?"], ["offline"]);
    expect(sql.where).toBe("WHERE status = ? AND os = ?");
    expect(sql.params).toEqual(["offline", "linux"]);
    expect(db.prepare(`SELECT id FROM devices ${sql.where} ${sql.orderBy}`).all(...sql.params)).toEqual([{ id: "d2" }, { id: "d6" }]);
  });

  it("qualifies columns with a table alias for joins", () => {
    const spec = qualify(DEVICE_LIST, "d");
    expect(spec.idColumn).toBe("d.id");
    expect(spec.fields.displayName?.column).toBe("d.display_name");
    expect(DEVICE_LIST.fields.displayName?.column).toBe("display_name");
    expect(qualifyColumns("id, hostname,os", "d")).toBe("d.id, d.hostname, d.os");
    const sql = buildListSql(parseListQuery({ filter: "os:eq:darwin", sort: "-hostname" }, spec), spec);
    const rows = db.prepare(`SELECT d.id FROM devices d ${sql.where} ${sql.orderBy}`).all(...sql.params);
    expect(rows).toEqual([{ id: "d5" }, { id: "d4" }]);
  });
});

function catchError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    return error as ValidationError;
  }
  throw new Error("expected an error");
}
