import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command } from "commander";
import { CtlCommand, USAGE_EXIT } from "../../control-plane/src/ctl/command.js";
import { commandFields, launchOf, parseAttach, parseEnv, scriptFields, scriptOf } from "../../control-plane/src/ctl/command-spec.js";
import { registerCommandCommands } from "../../control-plane/src/ctl/commands/commands.js";
import { registerResultCommands } from "../../control-plane/src/ctl/commands/results.js";
import { registerRunCommand } from "../../control-plane/src/ctl/commands/run.js";

/** tetherctl's command, run and results flags: parsed and checked before any request is made. */

describe("--env NAME=VALUE", () => {
  it("collects variables; the value may be empty or hold '='; a later value wins", () => {
    let env = parseEnv("A=1");
    env = parseEnv("_B2=x=y", env);
    env = parseEnv("EMPTY=", env);
    env = parseEnv("A=2", env);
    expect(env).toEqual({ A: "2", _B2: "x=y", EMPTY: "" });
  });

  it.each([
    ["NOEQUALS", /NAME=VALUE/],
    ["=value", /"" is not a valid variable name/],
    ["1ABC=x", /"1ABC" is not a valid variable name/],
    ["MY-VAR=x", /"MY-VAR" is not a valid variable name/],
    ["A B=x", /"A B" is not a valid variable name/],
  ])("rejects %j", (value, message) => {
    expect(() => parseEnv(value)).toThrow(message);
  });
});

describe("--attach LOCAL:DEST", () => {
  it.each([
    ["./app.conf:/etc/app.conf", { local: "./app.conf", dest: "/etc/app.conf" }],
    ["/tmp/a b.txt:/opt/a b.txt", { local: "/tmp/a b.txt", dest: "/opt/a b.txt" }],
    ["setup.ps1:C:\\Tether\\setup.ps1", { local: "setup.ps1", dest: "C:\\Tether\\setup.ps1" }],
    ["./x:D:/data/x", { local: "./x", dest: "D:/data/x" }],
    // A Windows admin's local path starts with a drive letter: that colon is not the separator.
    ["C:\\files\\a.conf:/etc/a.conf", { local: "C:\\files\\a.conf", dest: "/etc/a.conf" }],
    ["C:/files/a.conf:C:/a.conf", { local: "C:/files/a.conf", dest: "C:/a.conf" }],
    // …unless no later colon splits: then it is a one-letter file name.
    ["a:/etc/a", { local: "a", dest: "/etc/a" }],
  ])("splits %j", (value, attachment) => {
    expect(parseAttach(value)).toEqual([attachment]);
  });

  it("collects repeats in order", () => {
    expect(parseAttach("b:/b", parseAttach("a:/a"))).toEqual([
      { local: "a", dest: "/a" },
      { local: "b", dest: "/b" },
    ]);
  });

  it.each([
    ["app.conf", /LOCAL_PATH:DEST_PATH/],
    ["app.conf:etc/app.conf", /absolute DEST_PATH/],
    [":/etc/app.conf", /LOCAL_PATH:DEST_PATH/],
    ["app.conf:", /LOCAL_PATH:DEST_PATH/],
    ["app.conf:/etc/../root/x", /must not contain "\.\."/],
  ])("rejects %j", (value, message) => {
    expect(() => parseAttach(value)).toThrow(message);
  });
});

describe("launchOf", () => {
  it("is undefined when no launch flag is given", () => {
    expect(launchOf({})).toBeUndefined();
  });

  it("builds each launch type; --timezone defaults to UTC; --at becomes an ISO time", () => {
    expect(launchOf({ manual: true })).toEqual({ type: "manual" });
    expect(launchOf({ schedule: "0 3 * * *" })).toEqual({ type: "schedule", cron: "0 3 * * *", timezone: "UTC" });
    expect(launchOf({ schedule: "0 3 * * *", timezone: "Europe/Berlin" })).toEqual({ type: "schedule", cron: "0 3 * * *", timezone: "Europe/Berlin" });
    expect(launchOf({ at: "2030-06-01T03:00:00+02:00" })).toEqual({ type: "once", at: "2030-06-01T01:00:00.000Z" });
    expect(launchOf({ trigger: "deploy" })).toEqual({ type: "trigger", name: "deploy" });
  });

  it.each([
    [{ schedule: "* * * * *", trigger: "t" }, /only one of .*\(got --schedule and --trigger\)/],
    [{ at: "2030-01-01T00:00:00Z", trigger: "t" }, /\(got --at and --trigger\)/],
    [{ schedule: "* * * * *", at: "2030-01-01T00:00:00Z", manual: true }, /\(got --schedule and --at and --manual\)/],
    [{ timezone: "UTC" }, /--timezone goes with --schedule/],
    [{ trigger: "t", timezone: "UTC" }, /--timezone goes with --schedule/],
    [{ at: "next tuesday" }, /--at "next tuesday" is not a time/],
  ])("%j is a usage error (exit 2)", (flags, message) => {
    expect(() => launchOf(flags)).toThrow(message);
    try {
      launchOf(flags);
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(USAGE_EXIT);
    }
  });
});

describe("scriptOf and the request fields", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ctl-commands-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("takes --script or reads --file, never both; required only when asked", () => {
    const file = join(dir, "script.sh");
    writeFileSync(file, "#!/bin/sh\necho from file\n");
    expect(scriptOf({ script: "echo hi" }, true)).toBe("echo hi");
    expect(scriptOf({ file }, true)).toBe("#!/bin/sh\necho from file\n");
    expect(scriptOf({}, false)).toBeUndefined();
    expect(() => scriptOf({}, true)).toThrow(/--script TEXT or --file PATH/);
    expect(() => scriptOf({ script: "x", file }, true)).toThrow(/not both/);
    expect(() => scriptOf({ file: join(dir, "missing.sh") }, true)).toThrow(/cannot read the script file .*ENOENT/);
  });

  it("sends only the fields given, under the API's names (PATCH changes no more)", () => {
    expect(scriptFields({ os: "linux", timeout: 300, ttl: 3600, env: { A: "1" }, runAs: "deploy", device: ["d1"] }, "echo")).toEqual({
      script: "echo",
      os: "linux",
      timeoutSeconds: 300,
      queueTtlSeconds: 3600,
      env: { A: "1" },
      runAs: "deploy",
    });
    expect(commandFields({ description: "nightly", schedule: "0 3 * * *", parallel: false, runner: ["key_1"] }, undefined)).toEqual({
      description: "nightly",
      launch: { type: "schedule", cron: "0 3 * * *", timezone: "UTC" },
      parallel: false,
      runners: ["key_1"],
    });
    expect(commandFields({}, undefined)).toEqual({});
  });
});

describe("command lines", () => {
  const saved = { ...process.env };
  beforeAll(() => {
    // A server that is not there, so that a line which gets past its checks fails with exit 1, not 2.
    process.env.TETHER_URL = "http://127.0.0.1:9";
    process.env.TETHER_API_KEY = "test";
    process.env.TETHER_CONFIG = join(tmpdir(), "ctl-commands-no-such-dir", "ctl.json");
  });
  afterAll(() => {
    process.env = saved;
  });

  function program(): Command {
    const root = new CtlCommand("tetherctl").option("--url <url>").option("--api-key <key>").option("--ca-file <file>").option("--json");
    registerCommandCommands(root);
    registerRunCommand(root);
    registerResultCommands(root);
    const quiet = (command: Command): void => {
      command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
      command.commands.forEach(quiet);
    };
    quiet(root);
    return root;
  }

  /** Runs the line and returns how it failed: its exit code (1 for a plain error) and message. */
  async function failure(args: string[]): Promise<{ exitCode: number; message: string }> {
    try {
      await program().parseAsync(["node", "tetherctl", ...args]);
    } catch (error) {
      return { exitCode: (error as { exitCode?: number }).exitCode ?? 1, message: (error as Error).message };
    }
    throw new Error(`${args.join(" ")} succeeded`);
  }

  const create = ["commands", "create", "patch", "--os", "linux", "--script", "apt-get upgrade -y"];

  it.each([
    [[...create, "--schedule", "0 3 * * *", "--trigger", "t"], /only one of --schedule, --at, --trigger and --manual/],
    [[...create, "--at", "2030-01-01T00:00:00Z", "--schedule", "0 3 * * *"], /only one of/],
    [[...create, "--trigger", "t", "--manual"], /only one of/],
    [[...create, "--timezone", "Europe/Berlin"], /--timezone goes with --schedule/],
    [[...create, "--env", "1X=y"], /"1X" is not a valid variable name/],
    [[...create, "--attach", "app.conf"], /LOCAL_PATH:DEST_PATH/],
    [[...create, "--timeout", "2d"], /at most 86400 seconds/],
    [[...create, "--shell", "fish"], /Allowed choices are bash, sh, zsh, powershell, cmd/],
    [["commands", "create", "patch", "--script", "x"], /required option '--os <os>'/],
    [["commands", "create", "patch", "--os", "linux"], /--script TEXT or --file PATH/],
    [["commands", "create", "patch", "--os", "linux", "--script", "x", "--file", "y"], /not both/],
    [["commands", "update", "patch"], /nothing to update/],
    [["commands", "update", "patch", "--schedule", "* * * * *", "--manual"], /only one of/],
    [["commands", "run", "patch", "--timeout-wait", "5m"], /--timeout-wait goes with --wait/],
    [["run", "--device", "dev_1"], /--script TEXT or --file PATH/],
    [["run", "--", "echo hi"], /at least one --device or --group/],
    [["run", "--device", "dev_1", "--script", "a", "--", "b"], /not both/],
    [["run", "--device", "dev_1", "--os", "beos", "--", "b"], /Allowed choices are linux, darwin, windows/],
    [["results", "list", "--status", "done"], /Allowed choices are queued, sent, running/],
  ])("%j exits 2", async (args, message) => {
    const { exitCode, message: text } = await failure(args);
    expect(text).toMatch(message);
    expect(exitCode).toBe(USAGE_EXIT);
  });

  it("a line that passes every check goes to the server (and here fails to reach it, exit 1)", async () => {
    const { exitCode, message } = await failure([...create, "--trigger", "patch-now", "--env", "A=1", "--device", "dev_1"]);
    expect(message).toMatch(/cannot reach the server at http:\/\/127\.0\.0\.1:9/);
    expect(exitCode).toBe(1);
    const run = await failure(["run", "--device", "dev_1", "--os", "linux", "--wait", "--timeout-wait", "1m", "--", "echo", "hi"]);
    expect(run.message).toMatch(/cannot reach the server/);
  });
});
