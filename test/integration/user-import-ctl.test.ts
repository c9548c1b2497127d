import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "../../control-plane/src/domain/list-query.js";
import type { ImportResult } from "../../control-plane/src/domain/user-import.js";
import type { User } from "../../control-plane/src/domain/user.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runTetherctl, type CtlRun } from "../helpers/run-tetherctl.js";

/** `tetherctl users import|list|get` as an admin runs them: the real CLI process against a real control plane. */

const HEADER = "firstname,lastname,username,email,password";

let cp: TestControlPlane;
let dir: string;

beforeAll(async () => {
  cp = await startControlPlane();
  dir = mkdtempSync(join(tmpdir(), "tetherctl-import-"));
  writeFileSync(join(dir, "ca.pem"), cp.caPem);
}, 60_000);
afterAll(async () => {
  await cp?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});


/** tetherctl with the server in its environment (no saved login); stdin is `input` or nothing. */
function ctl(args: string[], input?: string): Promise<CtlRun> {
  return runTetherctl(args, { TETHER_CONFIG: join(dir, "none.json"), TETHER_URL: cp.url, TETHER_API_KEY: cp.adminApiKey, TETHER_CA_FILE: join(dir, "ca.pem") }, input);
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function userCount(): Promise<number> {
  return (await cp.api<Page<User>>("GET", "/api/v1/users?limit=1")).body.totalCount;
}

describe("tetherctl users import", () => {
  it("--template prints the portal header, --extended every column", async () => {
    expect(await ctl(["users", "import", "--template"])).toEqual({ code: 0, stdout: `${HEADER}\r\n`, stderr: "" });
    const extended = await ctl(["users", "import", "--template", "--extended"]);
    expect(extended.code).toBe(0);
    expect(extended.stdout).toMatch(/^FirstName,LastName,Username,Email,Password,.*,SystemID,Administrator,Group1,Group2,Group3,Attribute1_name,Attribute1_value/);
  });

  it("imports a file and sums it up", async () => {
    const path = file("good.csv", `${HEADER}\nAda,Lovelace,ada,ada@example.com,correct horse battery\nAlan,Turing,alan,alan@example.com,\n`);
    const run = await ctl(["users", "import", path]);
    expect(run, run.stderr).toEqual({
      code: 0,
      stdout: "Imported 2 of 2 rows (portal format), 1 of them staged (no password: send them activation links).\n",
      stderr: "",
    });
  });

  it("all or nothing by default: a failed row imports nothing, lists the problems and exits 1", async () => {
    const before = await userCount();
    const path = file("mixed.csv", `${HEADER}\nGrace,Hopper,grace,grace@example.com,\nBad,Row,Bad Name,bad@example.com,\n`);
    const run = await ctl(["users", "import", path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^Nothing imported: 1 of 2 rows failed \(all-or-nothing\)\. Fix them and import again, or import the other rows with --best-effort\.\n\nROW {2}USERNAME {2}COLUMN {4}PROBLEM\n {2}3 {2}Bad Name {2}username {2}/);
    expect(run.stderr).toBe("tetherctl: 1 of 2 rows failed\n");
    expect(await userCount()).toBe(before);
  });

  it("--dry-run writes nothing; --best-effort imports the good rows and still exits 1", async () => {
    const path = file("mixed2.csv", `${HEADER}\nEdsger,Dijkstra,edsger,edsger@example.com,\nBad,Row,Bad Name,bad@example.com,\n`);
    const before = await userCount();
    const dry = await ctl(["users", "import", path, "--dry-run"]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(/^Dry run \(portal format\): 1 of 2 rows would be imported, 1 of them staged .*; 1 failed\./);
    expect(await userCount()).toBe(before);

    const run = await ctl(["users", "import", path, "--best-effort"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^Imported 1 of 2 rows \(portal format\), 1 of them staged .*; 1 failed\.\n/);
    expect(await userCount()).toBe(before + 1);
  });

  it("--json prints the server's result as it came; - reads standard input", async () => {
    const run = await ctl(["users", "import", "-", "--json", "--dry-run"], `${HEADER}\nKen,Thompson,ken,ken@example.com,\n`);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as ImportResult;
    expect(result).toMatchObject({ dryRun: true, totals: { wouldCreate: 1 }, rows: [{ username: "ken", status: "would_create" }] });
  });

  it("a file over a megabyte goes up whole (the bar shows on terminals only)", async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `Firstname${i},Lastname${i},big${i},big${i}@example.com,`);
    const path = file("big.csv", [HEADER, ...rows].join("\n"));
    const run = await ctl(["users", "import", path, "--dry-run"]);
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/^Dry run \(portal format\): 20000 of 20000 rows would be imported/);
  }, 120_000);

  it("usage errors exit 2: no file, a missing file, --extended alone, --template with a file", async () => {
    for (const args of [["users", "import"], ["users", "import", join(dir, "missing.csv")], ["users", "import", "x.csv", "--extended"], ["users", "import", "x.csv", "--template"]]) {
      const run = await ctl(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  });

  it("a wrong header is one line naming the expected header, exit 1", async () => {
    const run = await ctl(["users", "import", file("header.csv", "Firstname,Lastname,Username,Email,Password\nA,B,c,c@example.com,\n")]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^tetherctl: the header must be exactly firstname,lastname,username,email,password .*\(validation_failed\)\n$/);
  });
});

describe("tetherctl users list|get", () => {
  it("lists users and shows one", async () => {
    const list = await ctl(["users", "list", "--filter", "username:eq:ada"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+USERNAME\s+NAME\s+EMAIL\s+STATE\s+DEPARTMENT\s+CREATED\nusr_\S+\s+ada\s+Ada Lovelace\s+ada@example.com\s+activated\s+-\s+/);
    const staged = await ctl(["users", "list", "--state", "staged", "--json"]);
    expect((JSON.parse(staged.stdout) as Page<User>).results.every((u) => u.state === "staged")).toBe(true);
    const get = await ctl(["users", "get", "alan"]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/Username:\s+alan\n/);
    expect(get.stdout).toMatch(/Password:\s+none \(waiting for activation\)\n/);
  });
});
