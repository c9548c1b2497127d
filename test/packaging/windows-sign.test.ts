import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { nodeBinary } from "../../scripts/build/node-binary.js";
import { parsePe, peChecksum } from "../../scripts/build/pe.js";
import { targetByName } from "../../scripts/build/targets.js";
import { removeAuthenticode, signAuthenticode, signingConfigFromEnv } from "../../scripts/build/windows-sign.js";
import { REPO_ROOT } from "../helpers/control-plane.js";
import { tempDir } from "./binaries.js";

// Authenticode on the real node.exe of the pinned Node (from the build's cache): the OpenJS signature
// comes off, and a certificate of ours (here a self-signed code-signing certificate made with openssl)
// goes on when one is configured.
describe("Windows signing", () => {
  let nodeExe: string;
  let dir: string;

  beforeAll(async () => {
    nodeExe = await nodeBinary(targetByName("win-x64"), join(REPO_ROOT, "node_modules/.cache/tether-build"));
    dir = await tempDir("tether-sign-test-");
  }, 300_000);

  it("removes Node's signature, leaving a PE without a certificate table and with a correct checksum", async () => {
    const original = await readFile(nodeExe);
    expect(parsePe(original).certificateTable.size).toBeGreaterThan(0);
    await removeAuthenticode(nodeExe, join(dir, "unsigned.exe"));
    const unsigned = await readFile(join(dir, "unsigned.exe"));
    const pe = parsePe(unsigned);
    expect(pe.certificateTable).toEqual({ offset: 0, size: 0 });
    expect(pe.checksum).toBe(peChecksum(unsigned));
    // And our checksum agrees with the one Node's release carries.
    expect(peChecksum(original)).toBe(parsePe(original).checksum);
  });

  it("signs with a configured PKCS#12 certificate (password with spaces and $ passed through a file)", async () => {
    await execa("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=Tether Test Signing", "-addext", "extendedKeyUsage=codeSigning"], { cwd: dir });
    const password = "se cret $1 'x'";
    await execa("openssl", ["pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "sign.pfx", "-passout", "env:PFX_PASSWORD"], { cwd: dir, env: { PFX_PASSWORD: password } });
    const config = signingConfigFromEnv({ TETHER_SIGN_PFX: join(dir, "sign.pfx"), TETHER_SIGN_PASSWORD: password });
    expect(config).toEqual({ pfx: join(dir, "sign.pfx"), password });
    expect(signingConfigFromEnv({})).toBeUndefined();

    const exe = join(dir, "to-sign.exe");
    await removeAuthenticode(nodeExe, exe);
    await signAuthenticode(exe, config!);
    expect(parsePe(await readFile(exe)).certificateTable.size).toBeGreaterThan(0);
    const verify = await execa("osslsigncode", ["verify", "-CAfile", join(dir, "cert.pem"), "-in", exe], { reject: false });
    expect(verify.stdout).toContain("Signature verification: ok");
    expect(verify.exitCode).toBe(0);

    const copy = join(dir, "wrong-password.exe");
    await removeAuthenticode(nodeExe, copy);
    await expect(signAuthenticode(copy, { ...config!, password: "wrong" })).rejects.toThrow(/osslsigncode/);
  });
});
