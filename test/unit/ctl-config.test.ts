import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configPath, readLogin, removeLogin, saveLogin } from "../../control-plane/src/ctl/config.js";
import { resolveConnection } from "../../control-plane/src/ctl/connection.js";
import { CliError } from "../../shared/src/cli/run-cli.js";

/** Where tetherctl finds its server, key and CA: flag > environment > saved login. */

const PEM = (name: string) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(name).toString("base64")}\n-----END CERTIFICATE-----\n`;

let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tetherctl-config-"));
  env = { TETHER_CONFIG: join(dir, "tether", "ctl.json") };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function caFile(name: string): string {
  const path = join(dir, `${name}.pem`);
  writeFileSync(path, PEM(name));
  return path;
}

function cliFailure(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error("expected a CliError");
}

describe("configPath", () => {
  it("prefers TETHER_CONFIG, then XDG_CONFIG_HOME, then ~/.config", () => {
    expect(configPath({ TETHER_CONFIG: "/a/ctl.json", XDG_CONFIG_HOME: "/xdg" })).toBe("/a/ctl.json");
    expect(configPath({ XDG_CONFIG_HOME: "/xdg" })).toBe("/xdg/tether/ctl.json");
    expect(configPath({})).toMatch(/\/\.config\/tether\/ctl\.json$/);
  });
});

describe("saved login", () => {
  it("is written 0600 in a directory made 0700, and read back", () => {
    const path = configPath(env);
    saveLogin(path, { url: "https://cp.example:8443", apiKey: "tak_saved", caPem: PEM("ca") });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "tether")).mode & 0o777).toBe(0o700);
    expect(readLogin(path)).toEqual({ url: "https://cp.example:8443", apiKey: "tak_saved", caPem: PEM("ca") });
  });

  it("is absent when there is no file, and removing it twice is fine", () => {
    const path = configPath(env);
    expect(readLogin(path)).toBeUndefined();
    saveLogin(path, { url: "https://cp.example:8443", apiKey: "k" });
    expect(removeLogin(path)).toBe(true);
    expect(removeLogin(path)).toBe(false);
  });

  it("refuses a file that is not a login, saying how to recover", () => {
    const path = configPath(env);
    saveLogin(path, { url: "u", apiKey: "k" });
    writeFileSync(path, "{ not json");
    expect(cliFailure(() => readLogin(path)).message).toContain("tetherctl logout");
  });
});

describe("resolveConnection", () => {
  const saved = { url: "https://cp.example:8443", apiKey: "tak_file", caPem: PEM("file-ca") };
  const needKey = { requireKey: true };

  beforeEach(() => saveLogin(configPath(env), saved));

  it("uses the saved login when nothing else is given", () => {
    expect(resolveConnection({}, env, needKey)).toEqual({ url: "https://cp.example:8443", apiKey: "tak_file", ca: PEM("file-ca") });
  });

  it("lets the environment override the saved login", () => {
    const resolved = resolveConnection({}, { ...env, TETHER_API_KEY: "tak_env", TETHER_CA_FILE: caFile("env-ca") }, needKey);
    expect(resolved).toEqual({ url: "https://cp.example:8443", apiKey: "tak_env", ca: PEM("env-ca") });
  });

  it("lets flags override the environment", () => {
    const withEnv = { ...env, TETHER_URL: "https://cp.example:8443/", TETHER_API_KEY: "tak_env", TETHER_CA_FILE: caFile("env-ca") };
    const resolved = resolveConnection({ apiKey: "tak_flag", caFile: caFile("flag-ca") }, withEnv, needKey);
    expect(resolved).toEqual({ url: "https://cp.example:8443", apiKey: "tak_flag", ca: PEM("flag-ca") });
  });

  it("takes an empty environment variable as unset", () => {
    expect(resolveConnection({}, { ...env, TETHER_API_KEY: "" }, needKey).apiKey).toBe("tak_file");
  });

  it("never sends the saved key or CA to another URL", () => {
    const other = { url: "https://elsewhere.example" };
    expect(resolveConnection(other, env, { requireKey: false })).toEqual({ url: "https://elsewhere.example" });
    const missing = cliFailure(() => resolveConnection(other, env, needKey));
    expect(missing.exitCode).toBe(2);
    expect(missing.message).toContain("no API key for https://elsewhere.example");
  });

  it("says how to log in when there is no URL at all", () => {
    removeLogin(configPath(env));
    const error = cliFailure(() => resolveConnection({}, env, needKey));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^no control plane URL: run "tetherctl login --url/);
  });

  it("rejects a URL that is not http(s) and a CA file that holds no certificate", () => {
    expect(cliFailure(() => resolveConnection({ url: "ftp://cp" }, env, needKey)).message).toContain("must start with https://");
    const notPem = join(dir, "not.pem");
    writeFileSync(notPem, "hello");
    expect(cliFailure(() => resolveConnection({ caFile: notPem }, env, needKey)).message).toContain("holds no PEM certificate");
  });
});
