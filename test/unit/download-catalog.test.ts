import { createHash, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCa } from "../../control-plane/src/pki/ca.js";
import { curlPublicKeyPin, dotnetPublicKeyPin } from "../../control-plane/src/pki/public-key-pin.js";
import { issueServerCertificate } from "../../control-plane/src/pki/server-certificate.js";
import { DownloadCatalog, sha256OfFile, targetOf } from "../../control-plane/src/services/download-catalog.js";

/** The downloads catalog on real files: what it lists, and that each version of a file is read once. */

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function downloadsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tether-catalog-"));
  dirs.push(dir);
  mkdirSync(join(dir, "agent"));
  mkdirSync(join(dir, "installers"));
  return dir;
}

/** The real hasher, counting the files it reads. */
function countingHasher() {
  const reads: string[] = [];
  return {
    reads,
    hash: (path: string) => {
      reads.push(path);
      return sha256OfFile(path);
    },
  };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("DownloadCatalog", () => {
  it("lists regular files of agent/ and installers/ by name, and nothing else", async () => {
    const dir = downloadsDir();
    const outside = downloadsDir();
    writeFileSync(join(dir, "agent", "tether-agent-linux-x64"), "linux");
    writeFileSync(join(dir, "agent", "SHA256SUMS"), "the build's own list\n");
    writeFileSync(join(dir, "agent", "tether-agent-win-x64.exe.tmp"), "half written");
    writeFileSync(join(dir, "agent", ".hidden"), "hidden");
    mkdirSync(join(dir, "agent", ".build"));
    mkdirSync(join(dir, "agent", "folder"));
    writeFileSync(join(dir, "installers", "tether-agent_0.1.0_arm64.deb"), "deb");
    writeFileSync(join(dir, "installers", "tether-agent-linux-x64"), "hidden by agent/");
    writeFileSync(join(dir, "top-level-file"), "not in a folder");
    writeFileSync(join(outside, "secret"), "secret");
    symlinkSync(join(outside, "secret"), join(dir, "agent", "leads-outside"));
    symlinkSync(join(dir, "agent", "tether-agent-linux-x64"), join(dir, "installers", "stays-inside"));

    const files = await new DownloadCatalog(dir).list();
    expect(files.map(({ name, size, sha256, target }) => ({ name, size, sha256, target }))).toEqual([
      { name: "stays-inside", size: 5, sha256: sha256("linux"), target: undefined },
      { name: "tether-agent-linux-x64", size: 5, sha256: sha256("linux"), target: "linux-x64" },
      { name: "tether-agent_0.1.0_arm64.deb", size: 3, sha256: sha256("deb"), target: "linux-arm64" },
    ]);
    const catalog = new DownloadCatalog(dir);
    for (const name of ["SHA256SUMS", "leads-outside", ".hidden", ".build", "folder", "top-level-file", "tether-agent-win-x64.exe.tmp", "../agent/tether-agent-linux-x64", "agent/tether-agent-linux-x64", "..", "."]) {
      expect(await catalog.find(name), name).toBeUndefined();
    }
  });

  it("is empty when the directory or its folders do not exist", async () => {
    expect(await new DownloadCatalog(join(tmpdir(), "tether-no-such-dir")).list()).toEqual([]);
    expect(await new DownloadCatalog(undefined).list()).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "tether-catalog-"));
    dirs.push(dir);
    writeFileSync(join(dir, "agent"), "a file where a folder should be");
    expect(await new DownloadCatalog(dir).list()).toEqual([]);
  });

  it("reads each version of a file once, concurrent requests included", async () => {
    const dir = downloadsDir();
    const file = join(dir, "agent", "tether-agent-linux-arm64");
    writeFileSync(file, "first");
    writeFileSync(join(dir, "installers", "other.pkg"), "other");
    const hasher = countingHasher();
    const catalog = new DownloadCatalog(dir, hasher.hash);

    const [a, b] = await Promise.all([catalog.find("tether-agent-linux-arm64"), catalog.find("tether-agent-linux-arm64")]);
    await catalog.list();
    await catalog.list();
    expect(a?.sha256).toBe(sha256("first"));
    expect(b?.sha256).toBe(sha256("first"));
    expect(hasher.reads.filter((p) => p.endsWith("arm64"))).toHaveLength(1);
    expect(hasher.reads).toHaveLength(2);

    // Same size, new content: the change time moves, so it is read again; the other file is not.
    writeFileSync(file, "secnd");
    expect((await catalog.find("tether-agent-linux-arm64"))?.sha256).toBe(sha256("secnd"));
    await catalog.list();
    expect(hasher.reads).toHaveLength(3);
  });

  it("tells the target from the name when it names both OS and CPU", () => {
    expect(
      Object.fromEntries(
        [
          "tether-agent-linux-x64",
          "tether-agent-linux-arm64",
          "tether-agent-win-x64.exe",
          "tether-agent-darwin-x64",
          "tether-agent-darwin-arm64",
          "tether-agent_0.1.0_amd64.deb",
          "tether-agent-0.1.0-1.x86_64.rpm",
          "tether-agent-0.1.0-1.aarch64.rpm",
          "tether-agent-0.1.0-x64.msi",
          "tether-agent-0.1.0-arm64.pkg",
          "tether-agent-0.1.0.pkg",
          "README.txt",
          "linuxish-x64",
        ].map((name) => [name, targetOf(name)]),
      ),
    ).toEqual({
      "tether-agent-linux-x64": "linux-x64",
      "tether-agent-linux-arm64": "linux-arm64",
      "tether-agent-win-x64.exe": "win-x64",
      "tether-agent-darwin-x64": "darwin-x64",
      "tether-agent-darwin-arm64": "darwin-arm64",
      "tether-agent_0.1.0_amd64.deb": "linux-x64",
      "tether-agent-0.1.0-1.x86_64.rpm": "linux-x64",
      "tether-agent-0.1.0-1.aarch64.rpm": "linux-arm64",
      "tether-agent-0.1.0-x64.msi": "win-x64",
      "tether-agent-0.1.0-arm64.pkg": "darwin-arm64",
      "tether-agent-0.1.0.pkg": undefined,
      "README.txt": undefined,
      "linuxish-x64": undefined,
    });
  });
});

describe("public key pins", () => {
  const ca = createCa({ commonName: "pin test CA" });
  const server = issueServerCertificate(ca, { hosts: ["tether.test"] });
  const publicKey = new X509Certificate(server.certPem).publicKey;

  it("pins for curl the SHA-256 of the SubjectPublicKeyInfo", () => {
    const spki = publicKey.export({ type: "spki", format: "der" });
    expect(curlPublicKeyPin(server.certPem)).toBe(`sha256//${createHash("sha256").update(spki).digest("base64")}`);
  });

  it("pins for .NET the SHA-256 of the key bits, which for RSA is the PKCS#1 key", () => {
    const pkcs1 = publicKey.export({ type: "pkcs1", format: "der" });
    expect(dotnetPublicKeyPin(server.certPem)).toBe(createHash("sha256").update(pkcs1).digest("base64"));
  });
});
