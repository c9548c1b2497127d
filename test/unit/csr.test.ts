import { execFile } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { promisify } from "node:util";
import forge from "node-forge";
import { describe, expect, it } from "vitest";
import { generateCsrForKey, generateKeyAndCsr } from "../../agent/src/identity/csr.js";

const run = promisify(execFile);

function spkiOf(csrPem: string): string {
  const csr = forge.pki.certificationRequestFromPem(csrPem);
  return forge.pki.publicKeyToPem(csr.publicKey as forge.pki.rsa.PublicKey).replace(/\r/g, "");
}

describe("generateKeyAndCsr", () => {
  const { keyPem, csrPem } = generateKeyAndCsr("3f2c9a70-device");

  it("makes an RSA 2048 key as PKCS#8 PEM", () => {
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(keyPem);
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("requests CN=<device id> for that key, self-signed with SHA-256", () => {
    const csr = forge.pki.certificationRequestFromPem(csrPem, true);
    expect(csr.subject.getField("CN").value).toBe("3f2c9a70-device");
    expect(csr.subject.attributes).toHaveLength(1);
    expect(forge.pki.oids[csr.signatureOid ?? ""]).toBe("sha256WithRSAEncryption");
    // forge's own pure-JavaScript RSA checks what OpenSSL signed.
    expect(csr.verify()).toBe(true);
    expect(spkiOf(csrPem)).toBe(createPublicKey(keyPem).export({ type: "spki", format: "pem" }));
  });

  it("passes openssl's check of the request's self-signature", async () => {
    const verify = run("openssl", ["req", "-verify", "-noout"]);
    verify.child.stdin?.end(csrPem);
    const { stdout, stderr } = await verify;
    expect(`${stdout}${stderr}`).toMatch(/verify OK/i);
  });

  it("makes a new key every time", () => {
    expect(generateKeyAndCsr("x").keyPem).not.toBe(keyPem);
  });
});

describe("generateCsrForKey", () => {
  it("reuses the given key and names the given device", () => {
    const { keyPem, csrPem } = generateKeyAndCsr("first");
    const second = generateCsrForKey("second", keyPem);
    const csr = forge.pki.certificationRequestFromPem(second, true);
    expect(csr.subject.getField("CN").value).toBe("second");
    expect(csr.verify()).toBe(true);
    expect(spkiOf(second)).toBe(spkiOf(csrPem));
  });

  it("refuses a key that is not RSA", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ecKey = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(() => generateCsrForKey("d", ecKey)).toThrow("device keys are RSA; this key is ec");
  });
});
