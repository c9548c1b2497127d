import { runTetherctl, type CtlRun } from "../helpers/run-tetherctl.js";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import type { ApiKey } from "../../control-plane/src/domain/api-key.js";
import type { DeviceGroup } from "../../control-plane/src/domain/device-group.js";
import type { Device } from "../../control-plane/src/domain/device.js";
import type { AuditEvent } from "../../control-plane/src/domain/event.js";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import { SERVER_VERSION } from "../../control-plane/src/version.js";
import { decodeConnectKey } from "../../shared/src/connect-key.js";
import type { EnrollResponse } from "../../shared/src/protocol/enrollment.js";
import { certificateFingerprint } from "../../shared/src/tls/fingerprint.js";
import { freePort, startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

/** tetherctl as an admin runs it: the real CLI process against a real control plane over HTTPS. */



let cp: TestControlPlane;
let home: string;
/** The saved login of the initial admin key, made by `tetherctl login` itself. */
let adminConfig: string;

beforeAll(async () => {
  cp = await startControlPlane();
  home = mkdtempSync(join(tmpdir(), "tetherctl-"));
  adminConfig = join(home, "admin", "ctl.json");
  const login = await ctl(["login", "--url", cp.url, "--api-key", cp.adminApiKey, "--ca-fingerprint", cp.caFingerprint], adminConfig);
  expect(login, login.stderr).toMatchObject({ code: 0 });
});
afterAll(async () => {
  await cp?.cleanup();
  if (home) rmSync(home, { recursive: true, force: true });
});

/**
 * Runs tetherctl with `config` as its TETHER_CONFIG and none of the runner's TETHER_* settings.
 * stdin is not a terminal, as in a script.
 */
function ctl(args: string[], config: string = adminConfig, extraEnv: Record<string, string> = {}): Promise<CtlRun> {
  return runTetherctl(args, { TETHER_CONFIG: config, ...extraEnv });
}

/** Runs a command with --json, expects success, and returns the parsed output. */
async function ctlJson<T>(args: string[], config?: string): Promise<T> {
  const run = await ctl([...args, "--json"], config);
  expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(run.stdout) as T;
}

/** A failure reported in exactly one line on stderr, nothing on stdout. */
function expectOneLineFailure(run: CtlRun, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stdout).toBe("");
  expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(run.stderr).toMatch(pattern);
}

let enrollCount = 0;
async function enrollDevice(): Promise<string> {
  const res = await cp.api<EnrollResponse>(
    "POST",
    "/agent/v1/enroll",
    { connectKeySecret: decodeConnectKey(cp.connectKey).secret, csrPem: generateKeyAndCsr("ctl-test").csrPem, hostname: `ctl-host-${++enrollCount}`, platform: "linux" },
    null,
  );
  expect(res.status).toBe(201);
  return res.body.deviceId;
}

describe("usage", () => {
  it("--help prints the commands and exits 0; --version prints the package version", async () => {
    const help = await ctl(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tetherctl /);
    for (const command of ["login", "devices", "device-groups", "events", "api-keys", "connect-keys"]) expect(help.stdout).toContain(command);
    const version = await ctl(["--version"]);
    expect(version).toMatchObject({ code: 0, stdout: `${SERVER_VERSION}\n` });
  });

  it.each([
    [["devices", "list", "--bogus"], /unknown option '--bogus'/],
    [["devices", "list", "--status", "sideways"], /Allowed choices are online, offline/],
    [["devices", "list", "--limit", "lots"], /whole number/],
    [["api-keys", "create", "ci"], /required option '--role <role>'/],
    [["device-groups"], /tetherctl device-groups needs a command, one of: list, get/],
    [["device-groups", "update", "servers"], /nothing to update/],
  ])("%j exits 2 with one line", async (args, pattern) => {
    expectOneLineFailure(await ctl(args), 2, pattern);
  });

  it("without a login, says how to log in", async () => {
    expectOneLineFailure(await ctl(["whoami"], join(home, "nobody", "ctl.json")), 2, /^tetherctl: no control plane URL: run "tetherctl login --url /);
  });
});

describe("login", () => {
  it("pins the CA by fingerprint, saves a 0600 config, and whoami then works", async () => {
    const config = join(home, "login-ok", "ctl.json");
    const login = await ctl(["login", "--url", cp.url, "--api-key", cp.adminApiKey, "--ca-fingerprint", cp.caFingerprint], config);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain(`Logged in to ${cp.url} as initial admin`);

    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "login-ok")).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(config, "utf8")) as { url: string; apiKey: string; caPem: string };
    expect(saved).toMatchObject({ url: cp.url, apiKey: cp.adminApiKey });
    expect(certificateFingerprint(saved.caPem)).toBe(cp.caFingerprint);

    const me = await ctlJson<{ id: string; name: string; role: string }>(["whoami"], config);
    expect(me).toEqual((await cp.api("GET", "/api/v1/whoami")).body);
  });

  it("with a wrong fingerprint fails with a clear message and writes nothing", async () => {
    const config = join(home, "login-wrong", "ctl.json");
    const wrong = "ab".repeat(32);
    const run = await ctl(["login", "--url", cp.url, "--api-key", cp.adminApiKey, "--ca-fingerprint", wrong], config);
    expectOneLineFailure(run, 1, new RegExp(`presented a CA with fingerprint ${cp.caFingerprint}, not the CA ${wrong} given with --ca-fingerprint`));
    expect(existsSync(config)).toBe(false);
  });

  it("without a CA to trust, reports the TLS trust failure and how to pin the CA, and writes nothing", async () => {
    const config = join(home, "login-untrusted", "ctl.json");
    const run = await ctl(["login", "--url", cp.url, "--api-key", cp.adminApiKey], config);
    expectOneLineFailure(run, 1, /^tetherctl: the server's certificate at .* is not trusted: .*log in with --ca-fingerprint/);
    expect(existsSync(config)).toBe(false);
  });

  it("with a key the server does not know, fails with its 401 and writes nothing", async () => {
    const config = join(home, "login-badkey", "ctl.json");
    const run = await ctl(["login", "--url", cp.url, "--api-key", "tak_not-a-key", "--ca-fingerprint", cp.caFingerprint], config);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tetherctl: .*\(\w+\)\n$/);
    expect(existsSync(config)).toBe(false);
  });

  it("logout removes the saved login", async () => {
    const config = join(home, "logout", "ctl.json");
    expect((await ctl(["login", "--url", cp.url, "--api-key", cp.adminApiKey, "--ca-fingerprint", cp.caFingerprint], config)).code).toBe(0);
    expect(await ctl(["logout"], config)).toMatchObject({ code: 0, stdout: `Logged out: removed ${config}\n` });
    expect(existsSync(config)).toBe(false);
  });

  it("reports an unreachable server in one line", async () => {
    const url = `https://127.0.0.1:${await freePort()}`;
    expectOneLineFailure(await ctl(["health", "--url", url]), 1, /cannot reach the server at .*: nothing is listening at 127\.0\.0\.1:/);
  });
});

describe("device-groups", () => {
  it("create, list, add, remove and delete round trip, by name and by id", async () => {
    const [first, second] = [await enrollDevice(), await enrollDevice()];
    const created = await ctlJson<DeviceGroup>(["device-groups", "create", "ctl-servers", "--description", "made by tetherctl"]);
    expect(created).toMatchObject({ name: "ctl-servers", description: "made by tetherctl", memberCount: 0 });

    const listed = await ctlJson<Page<DeviceGroup>>(["device-groups", "list", "--filter", "name:eq:ctl-servers"]);
    expect(listed.results.map((g) => g.id)).toEqual([created.id]);

    const added = await ctlJson<{ group: DeviceGroup; changed: number }>(["device-groups", "add", "ctl-servers", first, second]);
    expect(added).toMatchObject({ changed: 2, group: { id: created.id, memberCount: 2 } });
    const members = await ctlJson<Page<Device>>(["device-groups", "members", created.id]);
    expect(members.results.map((d) => d.id).sort()).toEqual([first, second].sort());

    const removed = await ctlJson<{ group: DeviceGroup; changed: number }>(["device-groups", "remove", created.id, first]);
    expect(removed).toMatchObject({ changed: 1, group: { memberCount: 1 } });

    const table = await ctl(["device-groups", "get", "ctl-servers"]);
    expect(table.stdout).toMatch(/^Members:\s+1$/m);

    expect(await ctl(["device-groups", "delete", "ctl-servers"])).toMatchObject({ code: 0, stdout: "Deleted device group ctl-servers\n" });
    expect((await ctlJson<Page<DeviceGroup>>(["device-groups", "list"])).results.map((g) => g.id)).not.toContain(created.id);
    expectOneLineFailure(await ctl(["device-groups", "get", created.id]), 1, /^tetherctl: no device group with id ".*" \(not_found\)$/m);
  });

  it("prints a table by default", async () => {
    await ctlJson(["device-groups", "create", "ctl-table", "--description", "for the table"]);
    const run = await ctl(["device-groups", "list", "--filter", "name:eq:ctl-table"]);
    expect(run.code).toBe(0);
    const [header, row] = run.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID\s+NAME\s+MEMBERS\s+DESCRIPTION$/);
    expect(row).toMatch(/^dg_\w+\s+ctl-table\s+0\s+for the table$/);
  });
});

describe("devices", () => {
  it("lists with filter shortcuts, shows, renames and deletes only with --yes", async () => {
    const id = await enrollDevice();
    const hostname = `ctl-host-${enrollCount}`;
    const listed = await ctlJson<Page<Device>>(["devices", "list", "--status", "offline", "--os", "linux", "--hostname", hostname]);
    expect(listed.results.map((d) => d.id)).toEqual([id]);

    const shown = await ctl(["devices", "get", id]);
    expect(shown.stdout).toMatch(new RegExp(`^Hostname:\\s+${hostname}$`, "m"));
    expect(shown.stdout).toMatch(/^Inventory:\s+not reported yet$/m);

    expect((await ctlJson<Device>(["devices", "rename", id, "Reception PC"])).displayName).toBe("Reception PC");

    expectOneLineFailure(await ctl(["devices", "delete", id]), 2, /stdin is not a terminal.*--yes/);
    expect((await cp.api("GET", `/api/v1/devices/${id}`)).status).toBe(200);
    expect(await ctl(["devices", "delete", id, "--yes"])).toMatchObject({ code: 0, stdout: `Deleted device ${id}\n` });
    expect((await cp.api("GET", `/api/v1/devices/${id}`)).status).toBe(404);
  });
});

describe("keys and roles", () => {
  it("a read-only key made with api-keys create may read but not create a group (403, exit 1)", async () => {
    const created = await ctlJson<ApiKey & { key: string }>(["api-keys", "create", "ctl-reader", "--role", "read-only"]);
    expect(created).toMatchObject({ name: "ctl-reader", role: "read-only" });

    // The flag's key replaces the saved one; URL and CA still come from the saved login.
    expect((await ctlJson<{ role: string }>(["whoami", "--api-key", created.key])).role).toBe("read-only");
    const denied = await ctl(["device-groups", "create", "ctl-denied", "--api-key", created.key]);
    expectOneLineFailure(denied, 1, /^tetherctl: an API key with role "read-only" may not do this; .* \(forbidden\)$/m);

    const revoked = await ctlJson<ApiKey>(["api-keys", "revoke", created.id]);
    expect(revoked.revokedAt).not.toBeNull();
    expect((await ctl(["whoami", "--api-key", created.key])).code).toBe(1);
  });

  it("connect-keys create prints the token and honours --expires-in and --max-uses", async () => {
    const run = await ctl(["connect-keys", "create", "ctl-office", "--expires-in", "7d", "--max-uses", "3"]);
    expect(run.code, run.stderr).toBe(0);
    const token = /^\s+(tck_\S+)$/m.exec(run.stdout)?.[1];
    expect(decodeConnectKey(token!).caFingerprint).toBe(cp.caFingerprint);

    const keys = await ctlJson<Page<{ name: string; maxUses: number | null; expiresAt: string | null; state: string }>>(["connect-keys", "list", "--filter", "name:eq:ctl-office"]);
    expect(keys.results).toHaveLength(1);
    const key = keys.results[0]!;
    expect(key).toMatchObject({ maxUses: 3, state: "active" });
    expect(Date.parse(key.expiresAt!) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
  });

  it("events filters the audit log by action and object", async () => {
    const group = await ctlJson<DeviceGroup>(["device-groups", "create", "ctl-audited"]);
    const events = await ctlJson<Page<AuditEvent>>(["events", "--action", "device-group.created", "--object-id", group.id]);
    expect(events.results).toHaveLength(1);
    expect(events.results[0]).toMatchObject({ action: "device-group.created", object: { type: "device-group", id: group.id } });
  });
});
