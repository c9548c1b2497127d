import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../control-plane/src/domain/api-key.js";
import type { EffectiveUser } from "../../control-plane/src/domain/binding.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { UserGroup } from "../../control-plane/src/domain/user-group.js";
import type { ImportResult } from "../../control-plane/src/domain/user-import.js";
import type { User } from "../../control-plane/src/domain/user.js";
import { requestJson, type JsonResponse } from "../../shared/src/http-client.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { enrollRaw } from "../helpers/raw-agent.js";

/** The CSV import of a real control plane process over HTTPS: uploads, limits, roles, and what lands in the directory. */

let cp: TestControlPlane;
/** A server with small limits: 64 KiB and 100 rows. */
let small: TestControlPlane;
let readOnlyKey: string;
/** Every response body seen, checked at the end for passwords. */
const bodies: string[] = [];

const PASSWORD = "correct horse battery staple";
const HEADER = "firstname,lastname,username,email,password";

beforeAll(async () => {
  [cp, small] = await Promise.all([startControlPlane(), startControlPlane({ env: { TETHER_MAX_IMPORT: "64kb", TETHER_MAX_IMPORT_ROWS: "100" } })]);
  const reader = await cp.api<ApiKey & { key: string }>("POST", "/api/v1/api-keys", { name: "reader", role: "read-only" });
  readOnlyKey = reader.body.key;
}, 60_000);
afterAll(() => Promise.all([cp?.cleanup(), small?.cleanup()]));

const fixture = (name: string) => readFileSync(new URL(`../fixtures/csv/${name}`, import.meta.url));
const tag = () => randomBytes(3).toString("hex");

interface Upload {
  body: Buffer | string;
  contentType?: string;
  query?: string;
  accept?: string;
  key?: string | null;
  server?: TestControlPlane;
}

async function upload<T = ImportResult>(options: Upload): Promise<JsonResponse<T>> {
  const server = options.server ?? cp;
  const key = options.key === undefined ? server.adminApiKey : options.key;
  const response = await requestJson<T>({
    url: `${server.url}/api/v1/users/import${options.query ? `?${options.query}` : ""}`,
    method: "POST",
    rawBody: Buffer.from(options.body),
    ca: server.caPem,
    timeoutMs: 120_000,
    headers: { "content-type": options.contentType ?? "text/csv", accept: options.accept ?? "application/json", ...(key ? { "x-api-key": key } : {}) },
  });
  bodies.push(response.text);
  return response;
}

/** A multipart/form-data body of files (and fields), as browsers and curl -F build it. */
function multipart(parts: { name: string; filename?: string; content: string | Buffer }[]): { body: Buffer; contentType: string } {
  const boundary = `----tether${randomBytes(8).toString("hex")}`;
  const chunks = parts.flatMap((part) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"\r\nContent-Type: text/csv` : ""}\r\n\r\n`,
    ),
    Buffer.from(part.content),
    Buffer.from("\r\n"),
  ]);
  return { body: Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function userCount(server: TestControlPlane = cp): Promise<number> {
  return (await server.api<Page<User>>("GET", "/api/v1/users?limit=1")).body.totalCount;
}

/** A portal file of rows `first,last,username,email,password`. */
const portal = (...rows: string[]) => [HEADER, ...rows].join("\r\n") + "\r\n";

describe("templates", () => {
  it("the portal template is its header, as a CSV attachment", async () => {
    const response = await requestJson({ url: `${cp.url}/api/v1/users/import/template`, ca: cp.caPem, headers: { "x-api-key": readOnlyKey } });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(response.headers["content-disposition"]).toBe("attachment; filename=users.csv");
    expect(response.text).toBe(`${HEADER}\r\n`);
  });

  it("?format=extended has every extended column", async () => {
    const response = await requestJson({ url: `${cp.url}/api/v1/users/import/template?format=extended`, ca: cp.caPem, headers: { "x-api-key": cp.adminApiKey } });
    const header = (parse(response.text) as string[][])[0]!;
    expect(header.slice(0, 5)).toEqual(["FirstName", "LastName", "Username", "Email", "Password"]);
    for (const column of ["recoveryEmail", "work_fax_number", "unix_guid", "enable_user_portal_multifactor", "EnrollmentDays", "SystemID", "Administrator", "Group1", "Attribute1_name", "Attribute1_value"]) {
      expect(header).toContain(column);
    }
    const bad = await requestJson({ url: `${cp.url}/api/v1/users/import/template?format=xml`, ca: cp.caPem, headers: { "x-api-key": cp.adminApiKey } });
    expect(bad.status).toBe(400);
  });
});

describe("uploads", () => {
  it("text/csv: the fixture's users are created, with and without password", async () => {
    const before = await userCount();
    const response = await upload({ body: fixture("portal-basic.csv") });
    expect(response.status).toBe(200);
    expect(response.body!.totals).toMatchObject({ rows: 2, created: 2, staged: 1 });
    expect(await userCount()).toBe(before + 2);
    const ada = (await cp.api<User>("GET", "/api/v1/users/ada")).body;
    expect(ada).toMatchObject({ state: "activated", hasPassword: true });
    expect(response.body!.rows[0]!.userId).toBe(ada.id);
  });

  it("multipart/form-data with one file field", async () => {
    const t = tag();
    const form = multipart([{ name: "file", filename: "users.csv", content: `\uFEFF${portal(`Zoë,Ångström,zoe${t},zoe${t}@example.com,`)}` }]);
    const response = await upload({ body: form.body, contentType: form.contentType });
    expect(response.status, response.text).toBe(200);
    expect(response.body!.rows[0]).toMatchObject({ username: `zoe${t}`, status: "created" });
    expect((await cp.api<User>("GET", `/api/v1/users/zoe${t}`)).body.firstname).toBe("Zoë");
  });

  it("a form with two files, a text field or no file is a 400; another content type a 415; not UTF-8 a 400", async () => {
    const two = multipart([
      { name: "a", filename: "a.csv", content: portal() },
      { name: "b", filename: "b.csv", content: portal() },
    ]);
    expect((await upload({ body: two.body, contentType: two.contentType })).body).toMatchObject({ error: { message: "the form has more than one file: send one CSV file per import" } });
    const field = multipart([{ name: "mode", content: "best-effort" }]);
    const fieldResponse = await upload({ body: field.body, contentType: field.contentType });
    expect(fieldResponse.status).toBe(400);
    expect(fieldResponse.text).toContain('unexpected form field \\"mode\\"');
    const empty = multipart([]);
    expect((await upload({ body: empty.body, contentType: empty.contentType })).status).toBe(400);

    const json = await upload({ body: JSON.stringify({ users: [] }), contentType: "application/json" });
    expect(json.status).toBe(415);
    const latin1 = await upload({ body: Buffer.from(`${HEADER}\nJos\xe9,M,jose1,jose1@example.com,\n`, "latin1") });
    expect(latin1.status).toBe(400);
    expect(latin1.body).toMatchObject({ error: { code: "not_utf8" } });
    expect(latin1.text).toContain("CSV UTF-8");
  });

  it("a wrong header is a 400 naming the expected one", async () => {
    const response = await upload({ body: fixture("portal-wrong-header-case.csv") });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: "validation_failed", message: expect.stringContaining("must be exactly firstname,lastname,username,email,password") } });
    const unknown = await upload({ body: fixture("extended-unknown-column.csv") });
    expect(unknown.body).toMatchObject({ error: { details: [{ field: "favouriteColour", reason: 'unknown column "favouriteColour"' }] } });
  });
});

describe("all-or-nothing, best-effort and dry runs", () => {
  it("all-or-nothing: one bad row leaves the directory unchanged, 422 with every row's result", async () => {
    const t = tag();
    const before = await userCount();
    const response = await upload({ body: portal(`A,A,a${t},a${t}@example.com,${PASSWORD}`, `B,B,B${t},b${t}@example.com,`, `C,C,c${t},c${t}@example.com,`) });
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ committed: false, error: { code: "import_failed" }, totals: { failed: 1, skipped: 2 } });
    expect(response.body!.rows.map((r) => r.status)).toEqual(["skipped", "failed", "skipped"]);
    expect(await userCount()).toBe(before);
  });

  it("best-effort: the good rows are created, the bad one reported", async () => {
    const t = tag();
    const before = await userCount();
    const response = await upload({ body: portal(`A,A,a${t},a${t}@example.com,`, `B,B,B${t},b${t}@example.com,`), query: "mode=best-effort" });
    expect(response.status).toBe(200);
    expect(response.body!.rows.map((r) => r.status)).toEqual(["created", "failed"]);
    expect(await userCount()).toBe(before + 1);
  });

  it("a dry run writes nothing and says what would happen", async () => {
    const t = tag();
    const before = await userCount();
    const events = (await cp.api<Page<unknown>>("GET", "/api/v1/events?limit=1")).body.totalCount;
    const response = await upload({ body: portal(`A,A,a${t},a${t}@example.com,${PASSWORD}`, "B,B,ada,someone@example.com,"), query: "dryRun=true" });
    expect(response.status).toBe(200);
    expect(response.body!.rows.map((r) => r.status)).toEqual(["would_create", "failed"]);
    expect(response.body!.rows[1]!.errors[0]!.message).toMatch(/already exists/);
    expect(await userCount()).toBe(before);
    expect((await cp.api<Page<unknown>>("GET", "/api/v1/events?limit=1")).body.totalCount).toBe(events);
  });

  it("bad query options are a 400", async () => {
    expect((await upload({ body: portal(), query: "mode=yolo" })).status).toBe(400);
    expect((await upload({ body: portal(), query: "dryRun=yes" })).status).toBe(400);
  });
});

describe("a client that goes away", () => {
  it("gets nothing written when it disconnects while the passwords are hashed", async () => {
    const t = tag();
    const before = await userCount();
    const body = portal(...Array.from({ length: 8 }, (_, i) => `Gone,User,gone${t}${i},gone${t}${i}@example.com,${PASSWORD} ${i}`));
    await new Promise<void>((resolve, reject) => {
      const req = request(`${cp.url}/api/v1/users/import`, { method: "POST", ca: cp.caPem, headers: { "content-type": "text/csv", "x-api-key": cp.adminApiKey } });
      req.on("error", () => resolve());
      req.on("response", () => reject(new Error("the import answered before the client left")));
      req.end(body, () => setTimeout(() => req.destroy(), 100));
    });
    // Longer than hashing 8 passwords takes: nothing may appear meanwhile or after.
    for (let i = 0; i < 8; i++) {
      await sleep(1000);
      expect(await userCount()).toBe(before);
    }
    expect((await upload({ body: portal(`Back,Again,back${t},back${t}@example.com,`) })).status).toBe(200);
  }, 30_000);
});

describe("groups and devices", () => {
  it("GroupN adds to existing groups by name; SystemID + Administrator bind the device, with sudo", async () => {
    const t = tag();
    const group = (await cp.api<UserGroup>("POST", "/api/v1/user-groups", { name: `Engineers ${t}` })).body;
    const { deviceId } = await enrollRaw(cp, `laptop-${t}`);
    const text = [
      "Username,Email,FirstName,Group1,Group2,SystemID,Administrator",
      `admin${t},admin${t}@example.com,Ada,engineers ${t},,${deviceId},True`,
      `plain${t},plain${t}@example.com,Bob,Engineers ${t},,${deviceId},`,
    ].join("\n");
    const response = await upload({ body: text });
    expect(response.status, response.text).toBe(200);
    expect(response.body!.rows[0]).toMatchObject({
      status: "created",
      groups: [{ name: `engineers ${t}`, status: "added" }],
      devices: [{ deviceId, administrator: true, status: "added" }],
    });
    const members = (await cp.api<Page<User>>("GET", `/api/v1/user-groups/${group.id}/members`)).body;
    expect(members.results.map((u) => u.username).sort()).toEqual([`admin${t}`, `plain${t}`]);
    const onDevice = (await cp.api<Page<EffectiveUser>>("GET", `/api/v1/devices/${deviceId}/users`)).body.results;
    const sudo = Object.fromEntries(onDevice.map((u) => [u.user.username, u.compiledAttributes.sudo.enabled]));
    expect(sudo).toEqual({ [`admin${t}`]: true, [`plain${t}`]: false });
  });

  it("an unknown group or device fails the row, naming the column", async () => {
    const t = tag();
    const response = await upload({ body: ["Username,Email,Group1,SystemID", `x${t},x${t}@example.com,no such group ${t},dev_nope`].join("\n") });
    expect(response.status).toBe(422);
    expect(response.body!.rows[0]!.errors.map((e) => e.field)).toEqual(["Group1", "SystemID"]);
  });
});

describe("the confirmation CSV", () => {
  it("Accept: text/csv answers the confirmation CSV, also for a refused import", async () => {
    const t = tag();
    const response = await upload({ body: portal(`A,A,a${t},a${t}@example.com,`, `B,B,b${t},b${t}@example.com,`), accept: "text/csv" });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(response.headers["content-disposition"]).toBe("attachment; filename=user-import-confirmation.csv");
    const lines = parse(response.text, { bom: true }) as string[][];
    expect(lines[0]).toEqual(["Row", "Username", "Status", "UserID", "Errors", "Groups", "Devices"]);
    expect(lines.slice(1).map((l) => l.slice(0, 3))).toEqual([
      ["2", `a${t}`, "created"],
      ["3", `b${t}`, "created"],
    ]);
    expect(lines[1]![3]).toMatch(/^usr_/);

    const refused = await upload({ body: portal(`A,A,BAD${t},bad${t}@example.com,`), accept: "text/csv" });
    expect(refused.status).toBe(422);
    const refusedLines = parse(refused.text, { bom: true }) as string[][];
    expect(refusedLines[1]!.slice(0, 3)).toEqual(["2", `BAD${t}`, "failed"]);
    expect(refusedLines[1]![4]).toMatch(/^username: /);
  });
});

describe("limits", () => {
  it("a body over TETHER_MAX_IMPORT is a 413 naming the limit, as text/csv and as multipart", async () => {
    const big = portal(...Array.from({ length: 2000 }, (_, i) => `First,Last,u${i},u${i}@example.com,`));
    expect(big.length).toBeGreaterThan(64 * 1024);
    const raw = await upload({ body: big, server: small });
    expect(raw.status).toBe(413);
    expect(raw.body).toMatchObject({ error: { code: "payload_too_large", message: "the request body is larger than the limit of 64kb" } });
    const form = multipart([{ name: "file", filename: "big.csv", content: big }]);
    const multi = await upload({ body: form.body, contentType: form.contentType, server: small });
    expect(multi.status).toBe(413);
    expect(multi.body).toMatchObject({ error: { message: "the request body is larger than the limit of 64kb" } });
    expect(await userCount(small)).toBe(0);
  });

  it("more rows than TETHER_MAX_IMPORT_ROWS is a 413 naming the limit", async () => {
    const response = await upload({ body: portal(...Array.from({ length: 101 }, (_, i) => `F,L,r${i},r${i}@example.com,`)), server: small });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ error: { code: "too_many_rows", message: expect.stringContaining("more than 100 rows") } });
    const fits = await upload({ body: portal(...Array.from({ length: 100 }, (_, i) => `F,L,r${i},r${i}@example.com,`)), server: small });
    expect(fits.status).toBe(200);
  });
});

describe("roles", () => {
  it("a read-only key may download templates but not import (403), even a dry run; no key is a 401", async () => {
    expect((await upload({ body: fixture("portal-basic.csv"), key: readOnlyKey })).status).toBe(403);
    expect((await upload({ body: fixture("portal-basic.csv"), key: readOnlyKey, query: "dryRun=true" })).status).toBe(403);
    expect((await upload({ body: fixture("portal-basic.csv"), key: null })).status).toBe(401);
  });
});

describe("scale", () => {
  it("imports 10,000 rows generated here in one request", async () => {
    const t = tag();
    const before = await userCount();
    const rows = Array.from({ length: 10_000 }, (_, i) => `First${i},Last${i},k${t}${i},k${t}${i}@example.com,`);
    const response = await upload({ body: portal(...rows) });
    expect(response.status).toBe(200);
    expect(response.body!.totals).toMatchObject({ rows: 10_000, created: 10_000 });
    expect(await userCount()).toBe(before + 10_000);
  }, 120_000);
});

describe("secrecy", () => {
  it("no response and no server log line carries a password from a file", () => {
    for (const body of bodies) expect(body).not.toContain(PASSWORD);
    expect(cp.logs()).not.toContain(PASSWORD);
    expect(cp.logs()).not.toContain("correct horse battery");
  });
});
