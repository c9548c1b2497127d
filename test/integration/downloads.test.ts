import { runTetherctl, type CtlRun } from "../helpers/run-tetherctl.js";
import { execFile } from "node:child_process";
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type DetailedPeerCertificate } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Download, InstallCommands } from "../../control-plane/src/domain/downloads.js";
import { createCa } from "../../control-plane/src/pki/ca.js";
import { issueServerCertificate } from "../../control-plane/src/pki/server-certificate.js";
import { BASE64URL_CHARACTERS, CONNECT_KEY_SHAPE } from "../../shared/src/connect-key.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { httpsGet } from "../helpers/https-get.js";

/**
 * Agent downloads, the rendered install scripts and the one-liners, from a real control plane over
 * HTTPS, with real files, sha256sum, curl and the shells. install-sh.test.ts runs install.sh itself.
 */

const run = promisify(execFile);

let cp: TestControlPlane;
/** A control plane with a publicly trusted certificate (--tls-cert) and no downloads directory. */
let external: TestControlPlane;
let externalCa: string;
let dir: string;
let outside: string;
let work: string;
let caFile: string;

const bytes = (size: number) => randomBytes(size);
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tether-downloads-"));
  outside = mkdtempSync(join(tmpdir(), "tether-outside-"));
  work = mkdtempSync(join(tmpdir(), "tether-downloads-work-"));
  mkdirSync(join(dir, "agent", ".build"), { recursive: true });
  mkdirSync(join(dir, "installers"));
  writeFileSync(join(dir, "agent", "tether-agent-linux-x64"), bytes(300_000), { mode: 0o755 });
  writeFileSync(join(dir, "agent", "tether-agent-win-x64.exe"), bytes(200_000));
  writeFileSync(join(dir, "agent", "SHA256SUMS"), `${"0".repeat(64)}  tether-agent-linux-x64\n`);
  writeFileSync(join(dir, "installers", "tether-agent_0.1.0_amd64.deb"), bytes(10_000));
  writeFileSync(join(outside, "secret"), "top secret");
  symlinkSync(join(outside, "secret"), join(dir, "agent", "leads-outside"));

  const publicCa = createCa({ commonName: "A public CA" });
  const server = issueServerCertificate(publicCa, { hosts: ["127.0.0.1", "localhost"] });
  externalCa = publicCa.certPem;
  writeFileSync(join(work, "server.crt"), server.certPem + publicCa.certPem);
  writeFileSync(join(work, "server.key"), server.keyPem, { mode: 0o600 });

  [cp, external] = await Promise.all([
    startControlPlane({ env: { TETHER_DOWNLOADS_DIR: dir } }),
    startControlPlane({
      env: { TETHER_TLS_CERT: join(work, "server.crt"), TETHER_TLS_KEY: join(work, "server.key"), TETHER_DOWNLOADS_DIR: join(dir, "no-such-dir") },
    }),
  ]);
  caFile = join(work, "ca.crt");
  writeFileSync(caFile, cp.caPem);
});
afterAll(async () => {
  await Promise.all([cp?.cleanup(), external?.cleanup()]);
  for (const d of [dir, outside, work]) if (d) rmSync(d, { recursive: true, force: true });
});

const get = (path: string, headers?: Record<string, string>) => httpsGet(cp.url, path, { ca: cp.caPem, ...(headers ? { headers } : {}) });

async function sha256sum(path: string): Promise<string> {
  return (await run("sha256sum", [path])).stdout.split(" ")[0]!;
}

describe("GET /downloads", () => {
  it("lists the files of agent/ and installers/ with the SHA-256 that sha256sum computes", async () => {
    const res = await get("/downloads");
    expect(res.status).toBe(200);
    const { items } = JSON.parse(res.text) as { items: Download[] };
    expect(items.map((i) => [i.name, i.target])).toEqual([
      ["tether-agent-linux-x64", "linux-x64"],
      ["tether-agent-win-x64.exe", "win-x64"],
      ["tether-agent_0.1.0_amd64.deb", "linux-x64"],
    ]);
    for (const item of items) {
      const folder = item.name.endsWith(".deb") ? "installers" : "agent";
      expect(item.sha256).toBe(await sha256sum(join(dir, folder, item.name)));
      expect(item.url).toBe(`${cp.url}/downloads/${item.name}`);
      expect(item.size).toBe(readFileSync(join(dir, folder, item.name)).length);
    }
  });

  it("serves a file with its length, its SHA-256 in X-Checksum-Sha256, and ranges", async () => {
    const content = readFileSync(join(dir, "agent", "tether-agent-win-x64.exe"));
    const res = await get("/downloads/tether-agent-win-x64.exe");
    expect(res.status).toBe(200);
    expect(res.body.equals(content)).toBe(true);
    expect(res.headers["content-length"]).toBe(String(content.length));
    expect(res.headers["x-checksum-sha256"]).toBe(sha256(content));
    expect(res.headers.etag).toBe(`"${sha256(content)}"`);
    expect((await get("/downloads/tether-agent-win-x64.exe", { "if-none-match": res.headers.etag! })).status).toBe(304);

    const part = await get("/downloads/tether-agent-win-x64.exe", { range: "bytes=100-199" });
    expect(part.status).toBe(206);
    expect(part.body.equals(content.subarray(100, 200))).toBe(true);
    expect((await get("/downloads/tether-agent-win-x64.exe", { range: "bytes=900000-" })).status).toBe(416);
  });

  it("serves SHA256SUMS that sha256sum -c accepts for the downloaded files", async () => {
    const into = mkdtempSync(join(work, "fetched-"));
    const { items } = JSON.parse((await get("/downloads")).text) as { items: Download[] };
    for (const name of [...items.map((i) => i.name), "SHA256SUMS"]) {
      await run("curl", ["-fsS", "--cacert", caFile, "-o", name, `${cp.url}/downloads/${name}`], { cwd: into });
    }
    const sums = readFileSync(join(into, "SHA256SUMS"), "utf8");
    expect(sums).not.toContain("0".repeat(64)); // ours, not the build's file of that name
    const check = await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: into });
    expect(check.stdout.trim().split("\n").sort()).toEqual(items.map((i) => `${i.name}: OK`).sort());
  });

  it("sees a file change: a new SHA-256 in the list, the sums and the file's header", async () => {
    const path = join(dir, "installers", "tether-agent_0.1.0_amd64.deb");
    const before = readFileSync(path);
    const after = bytes(before.length);
    writeFileSync(path, after);
    const { items } = JSON.parse((await get("/downloads")).text) as { items: Download[] };
    expect(items.find((i) => i.name === "tether-agent_0.1.0_amd64.deb")?.sha256).toBe(sha256(after));
    expect((await get("/downloads/SHA256SUMS")).text).toContain(`${sha256(after)}  tether-agent_0.1.0_amd64.deb\n`);
    expect((await get("/downloads/tether-agent_0.1.0_amd64.deb")).headers["x-checksum-sha256"]).toBe(sha256(after));
  });

  it("serves nothing outside the catalog: traversal, encoded separators, links that lead out, unknown names", async () => {
    const attempts = [
      "/downloads/..%2F..%2F..%2Fetc%2Fpasswd",
      "/downloads/..%2fagent%2ftether-agent-linux-x64",
      "/downloads/agent%2Ftether-agent-linux-x64",
      "/downloads/%2E%2E",
      "/downloads/%2Fetc%2Fpasswd",
      "/downloads/..%5C..%5Cetc%5Cpasswd",
      "/downloads/../../etc/passwd",
      "/downloads/tether-agent-linux-x64%00",
      "/downloads/leads-outside",
      "/downloads/.build",
      "/downloads/no-such-file",
    ];
    for (const path of attempts) {
      const res = await get(path);
      expect([400, 404], path).toContain(res.status);
      expect(res.headers["content-type"], path).toMatch(/^application\/json/);
      expect(res.text, path).not.toMatch(/top secret|root:/);
    }
    const unknown = await get("/downloads/no-such-file");
    expect(JSON.parse(unknown.text)).toEqual({ error: { code: "not_found", message: 'there is no download named "no-such-file"; GET /downloads lists them' } });
  });

  it("is an empty list when the downloads directory does not exist", async () => {
    const list = await httpsGet(external.url, "/downloads", { ca: externalCa });
    expect(JSON.parse(list.text)).toEqual({ items: [] });
    const sums = await httpsGet(external.url, "/downloads/SHA256SUMS", { ca: externalCa });
    expect({ status: sums.status, text: sums.text }).toEqual({ status: 200, text: "" });
  });
});

/** The value of `NAME='…'` in a rendered install.sh (no value here holds a quote). */
function shValue(script: string, name: string): string | undefined {
  return new RegExp(`^${name}='([^']*)'$`, "m").exec(script)?.[1];
}

/** The value of `$Name = '…'` in a rendered install.ps1. */
function psValue(script: string, name: string): string | undefined {
  return new RegExp(`^\\$${name} = '([^']*)'$`, "m").exec(script)?.[1];
}

describe("GET /install.sh", () => {
  it("embeds this server's address, its CA and the SHA-256 of each agent binary it has", async () => {
    const res = await get("/install.sh");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-store");
    const script = res.text;
    expect(shValue(script, "TETHER_URL")).toBe(cp.url);
    expect(shValue(script, "TETHER_CA")).toBe(cp.caPem.replaceAll("\r\n", "\n").trim());
    expect(shValue(script, "TETHER_SHA256_LINUX_X64")).toBe(await sha256sum(join(dir, "agent", "tether-agent-linux-x64")));
    for (const name of ["TETHER_SHA256_LINUX_ARM64", "TETHER_SHA256_DARWIN_X64", "TETHER_SHA256_DARWIN_ARM64"]) expect(shValue(script, name)).toBe("");
    expect(script).not.toMatch(/[^\t\n -~]/);
    // The script's own check of a connect key allows exactly base64url after tck_.
    expect(script).toContain(`*[!${BASE64URL_CHARACTERS}]*`);
  });

  it("points at the address it was fetched from when the certificate covers it, else at the public URL", async () => {
    const url = async (host: string) => shValue((await get("/install.sh", { host })).text, "TETHER_URL");
    expect(await url(`localhost:${cp.port}`)).toBe(`https://localhost:${cp.port}`);
    expect(await url(`[::1]:${cp.port}`)).toBe(`https://[::1]:${cp.port}`);
    expect(await url("tether.example.com")).toBe(cp.url);
    expect(await url(`127.0.0.1:${cp.port}'$(reboot)`)).toBe(cp.url);
    expect(await url(`localhost:${cp.port}/x`)).toBe(cp.url);
  });

  it("is a valid script for sh, dash, bash in POSIX mode and shellcheck", async () => {
    const path = join(work, "install.sh");
    writeFileSync(path, (await get("/install.sh")).text);
    for (const [shell, ...args] of [["sh", "-n"], ["dash", "-n"], ["bash", "--posix", "-n"]]) {
      await expect(run(shell!, [...args, path]), shell).resolves.toMatchObject({ stderr: "" });
    }
    await expect(run("shellcheck", ["-s", "sh", path])).resolves.toMatchObject({ stdout: "", stderr: "" });
  });
});

describe("GET /install.ps1", () => {
  let script: string;
  beforeAll(async () => {
    const res = await get("/install.ps1");
    expect(res.status).toBe(200);
    script = res.text;
  });

  it("embeds this server's address, its CA as DER and the SHA-256 of the Windows agent", async () => {
    expect(psValue(script, "TetherUrl")).toBe(cp.url);
    expect(psValue(script, "TetherCa")).toBe(new X509Certificate(cp.caPem).raw.toString("base64"));
    expect(psValue(script, "TetherSha256")).toBe(await sha256sum(join(dir, "agent", "tether-agent-win-x64.exe")));
    // Windows PowerShell's WebClient decodes text with the ANSI code page: keep to ASCII.
    expect(script).not.toMatch(/[^\t\n -~]/);
    // A script block's param() must be its first statement.
    const code = script.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(code.slice(0, 2)).toEqual(["[CmdletBinding()]", "param("]);
  });

  it("checks connect keys with the pattern the shared code uses, which accepts real keys only", async () => {
    const pattern = /-cnotmatch '([^']+)'/.exec(script)?.[1];
    // .NET's \z is JavaScript's $ without the m flag: the very end, no newline allowed before it.
    expect(pattern?.replace(/\\z$/, "$")).toBe(CONNECT_KEY_SHAPE.source);
    const regex = new RegExp(pattern!.replace(/\\z$/, "$"));
    const created = await cp.api<{ connectKey: string }>("POST", "/api/v1/connect-keys", { name: "ps1-pattern" });
    for (const key of [created.body.connectKey, cp.connectKey]) expect(regex.test(key), key).toBe(true);
    for (const bad of ["tck_x';reboot;'", "tck_", "TCK_abc", " tck_abc", "tck_abc\n", "tck_abc=", "tck_äbc", "tck_a b", "tck_$(id)", "abc"]) {
      expect(regex.test(bad), bad).toBe(false);
    }
  });
});

/** The SubjectPublicKeyInfo DER of the certificate the server presents, from a TLS handshake. */
function presentedPublicKey(url: string): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      const peer = socket.getPeerCertificate(true) as DetailedPeerCertificate;
      socket.end();
      resolve(peer.pubkey!);
    });
    socket.on("error", reject);
  });
}

describe("GET /api/v1/install-commands", () => {
  it("is for admin and read-only keys", async () => {
    const runner = await cp.api<{ key: string }>("POST", "/api/v1/api-keys", { name: "runner", role: "command-runner" });
    const reader = await cp.api<{ key: string }>("POST", "/api/v1/api-keys", { name: "reader", role: "read-only" });
    expect((await cp.api("GET", "/api/v1/install-commands", undefined, null)).status).toBe(401);
    expect((await cp.api("GET", "/api/v1/install-commands", undefined, runner.body.key)).status).toBe(403);
    expect((await cp.api("GET", "/api/v1/install-commands", undefined, reader.body.key)).status).toBe(200);
  });

  it("pins the public key of the certificate the server presents", async () => {
    const { body } = await cp.api<InstallCommands>("GET", "/api/v1/install-commands");
    const spki = await presentedPublicKey(cp.url);
    const pin = `sha256//${createHash("sha256").update(spki).digest("base64")}`;
    expect(body).toEqual({
      url: cp.url,
      linux: `curl -fsSL --pinnedpubkey '${pin}' -k '${cp.url}/install.sh' | sudo sh -s -- --connect-key CONNECT_KEY`,
      windows: expect.stringContaining(`& ([scriptblock]::Create((New-Object Net.WebClient).DownloadString('${cp.url}/install.ps1'))) -ConnectKey 'CONNECT_KEY'`),
      connectKeyPlaceholder: "CONNECT_KEY",
      pinnedPublicKey: pin,
    });
    // What .NET's GetPublicKey() returns for an RSA key is its PKCS#1 form.
    const rsaKey = new X509Certificate(readFileSync(join(cp.dataDir, "pki", "server.crt"))).publicKey.export({ type: "pkcs1", format: "der" });
    expect(body.windows).toContain(`-ceq '${createHash("sha256").update(rsaKey).digest("base64")}'`);
    expect(body.windows).toMatch(/^\[Net\.ServicePointManager\]::SecurityProtocol = .+ -bor 3072; \[Net\.ServicePointManager\]::ServerCertificateValidationCallback = \{/);
  });

  it("needs no pin, CA or -k with a publicly trusted certificate", async () => {
    const res = await httpsGet(external.url, "/api/v1/install-commands", { ca: externalCa, headers: { "x-api-key": external.adminApiKey } });
    const body = JSON.parse(res.text) as InstallCommands;
    expect(body.pinnedPublicKey).toBeNull();
    expect(body.linux).toBe(`curl -fsSL '${external.url}/install.sh' | sudo sh -s -- --connect-key CONNECT_KEY`);
    expect(body.windows).toBe(
      `[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor 3072; & ([scriptblock]::Create((New-Object Net.WebClient).DownloadString('${external.url}/install.ps1'))) -ConnectKey 'CONNECT_KEY'`,
    );
    const sh = (await httpsGet(external.url, "/install.sh", { ca: externalCa })).text;
    expect(shValue(sh, "TETHER_URL")).toBe(external.url);
    expect(shValue(sh, "TETHER_CA")).toBe("");
    expect(shValue(sh, "TETHER_SHA256_LINUX_X64")).toBe("");
    expect(psValue((await httpsGet(external.url, "/install.ps1", { ca: externalCa })).text, "TetherCa")).toBe("");
  });
});

describe("tetherctl install-command", () => {
  function ctl(args: string[]): Promise<CtlRun> {
    return runTetherctl(["install-command", ...args], { TETHER_URL: cp.url, TETHER_API_KEY: cp.adminApiKey, TETHER_CA_FILE: caFile, TETHER_CONFIG: join(work, "no-login.json") });
  }

  it("prints the one-liners with the connect key filled in", async () => {
    const { body } = await cp.api<InstallCommands>("GET", "/api/v1/install-commands");
    const created = await cp.api<{ connectKey: string }>("POST", "/api/v1/connect-keys", { name: "ctl-install" });
    const key = created.body.connectKey;

    const filled = await ctl(["--connect-key", key]);
    expect(filled, filled.stderr).toMatchObject({ code: 0, stderr: "" });
    const lines = filled.stdout.split("\n");
    expect(lines).toContain(`  ${body.linux.replace("CONNECT_KEY", key)}`);
    expect(lines).toContain(`  ${body.windows.replace("CONNECT_KEY", key)}`);
    expect(filled.stdout).toContain(`by its public key (${body.pinnedPublicKey})`);
    expect(filled.stdout).not.toContain("CONNECT_KEY");

    const json = await ctl(["--connect-key", key, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ linux: body.linux.replace("CONNECT_KEY", key), pinnedPublicKey: body.pinnedPublicKey });

    const placeholder = await ctl([]);
    expect(placeholder.code).toBe(0);
    expect(placeholder.stdout).toContain(`  ${body.linux}`);
    expect(placeholder.stdout).toMatch(/Put a connect key in place of CONNECT_KEY/);
  });

  it("refuses a malformed connect key in one line, exit status 2, without asking the server", async () => {
    const bad = await ctl(["--connect-key", "tck_x';reboot;'"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/--connect-key: .*base64url/);
    expect(bad.stderr).not.toContain("reboot");
  });
});
