import { execFile } from "node:child_process";
import { createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import forge from "node-forge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCsrForKey, generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import { CertificateAuthority, createCa } from "../../control-plane/src/pki/ca.js";
import { signDeviceCsr } from "../../control-plane/src/pki/device-certificate.js";
import { CsrError } from "../../control-plane/src/pki/device-csr.js";
import { issueServerCertificate } from "../../control-plane/src/pki/server-certificate.js";
import { certificateFingerprint, splitPemChain } from "../../shared/src/tls/fingerprint.js";
import { signWithKeyObject } from "../../shared/src/tls/native-rsa-signer.js";

const run = promisify(execFile);
const NOW = new Date("2026-03-01T12:00:00.500Z");
const DAY_MS = 86_400_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

let dir: string;
let pair: ReturnType<typeof createCa>;
let ca: CertificateAuthority;
let caX509: X509Certificate;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-pki-"));
  pair = createCa({ commonName: "Tether CA – Zürich", now: NOW });
  ca = new CertificateAuthority(pair);
  caX509 = new X509Certificate(pair.certPem);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `openssl verify` on a certificate for `purpose` (an openssl purpose name), as of an hour after NOW. */
async function opensslVerify(certPem: string, purpose: string): Promise<string> {
  const caFile = join(dir, "ca.pem");
  const certFile = join(dir, `cert-${Math.random()}.pem`);
  await writeFile(caFile, pair.certPem);
  await writeFile(certFile, certPem);
  const { stdout } = await run("openssl", ["verify", "-x509_strict", "-attime", String(Math.floor(NOW.getTime() / 1000) + 3600), "-purpose", purpose, "-CAfile", caFile, certFile]);
  return stdout;
}

function extension<T>(pem: string, name: string): T {
  return forge.pki.certificateFromPem(pem).getExtension(name) as T;
}

describe("fingerprints", () => {
  it("is the lower-case hex SHA-256 of the DER, the same as Node's colon-separated form", () => {
    expect(pair.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(pair.fingerprint).toBe(caX509.fingerprint256.replace(/:/g, "").toLowerCase());
    expect(certificateFingerprint(pair.certPem)).toBe(pair.fingerprint);
  });

  it("splits a PEM bundle into its certificates, in order", () => {
    const server = issueServerCertificate(ca, { hosts: ["a.example"], now: NOW });
    const parts = splitPemChain(`junk\n${server.certPem}\n\n${pair.certPem}`);
    expect(parts.map(certificateFingerprint)).toEqual([certificateFingerprint(server.certPem), pair.fingerprint]);
    expect(splitPemChain("no certificates here")).toEqual([]);
  });
});

describe("createCa", () => {
  it("makes a self-signed CA limited to issuing end-entity certificates", () => {
    expect(caX509.ca).toBe(true);
    expect(caX509.subject).toBe("CN=Tether CA – Zürich");
    expect(caX509.verify(caX509.publicKey)).toBe(true);
    expect(createPrivateKey(pair.keyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(pair.keyPem).toContain("BEGIN PRIVATE KEY");
    expect(extension<{ cA: boolean; pathLenConstraint: number }>(pair.certPem, "basicConstraints")).toMatchObject({ cA: true, pathLenConstraint: 0 });
    expect(extension<object>(pair.certPem, "keyUsage")).toMatchObject({ keyCertSign: true, cRLSign: true, digitalSignature: false });
    expect(extension<object | undefined>(pair.certPem, "subjectKeyIdentifier")).toBeDefined();
  });

  it("is valid from a minute before now for ten years, with a positive 16-byte serial", () => {
    expect(new Date(caX509.validFrom).getTime()).toBe(Date.parse("2026-03-01T11:59:00Z"));
    expect(new Date(caX509.validTo).getTime()).toBe(Date.parse("2026-03-01T12:00:00Z") + 3650 * DAY_MS);
    expect(caX509.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
    expect(caX509.serialNumber).not.toMatch(/^00/);
  });

  it("gives every CA a different serial number and key", () => {
    const other = createCa({ commonName: "Tether CA – Zürich", now: NOW });
    expect(new X509Certificate(other.certPem).serialNumber).not.toBe(caX509.serialNumber);
    expect(other.fingerprint).not.toBe(pair.fingerprint);
  });
});

describe("CertificateAuthority", () => {
  it("refuses a key that does not belong to the certificate", () => {
    const other = createCa({ commonName: "Other", now: NOW });
    expect(() => new CertificateAuthority({ certPem: pair.certPem, keyPem: other.keyPem })).toThrow(/does not match/);
  });

  it("refuses a certificate that is not a CA", () => {
    const server = issueServerCertificate(ca, { hosts: ["a.example"], now: NOW });
    expect(() => new CertificateAuthority(server)).toThrow(/not a CA/);
  });
});

describe("issueServerCertificate", () => {
  let server: { certPem: string; keyPem: string };
  let x509: X509Certificate;
  beforeAll(() => {
    server = issueServerCertificate(pair, { hosts: ["tether.example.com", "127.0.0.1", "::1", "::ffff:10.1.2.3"], now: NOW });
    x509 = new X509Certificate(server.certPem);
  });

  it("names the first host and lists every host as a DNS name or IP address", () => {
    expect(x509.subject).toBe("CN=tether.example.com");
    expect(x509.subjectAltName).toBe(
      "DNS:tether.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:A01:203",
    );
    expect(x509.checkHost("tether.example.com")).toBe("tether.example.com");
    expect(x509.checkHost("other.example.com")).toBeUndefined();
    expect(x509.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(x509.checkIP("::1")).toBe("::1");
    expect(x509.checkIP("10.1.2.3")).toBeUndefined();
  });

  it("is a server certificate signed by the CA, valid for 825 days", async () => {
    expect(x509.ca).toBe(false);
    expect(x509.issuer).toBe(caX509.subject);
    expect(x509.verify(caX509.publicKey)).toBe(true);
    expect(x509.keyUsage).toEqual([SERVER_AUTH]);
    expect(extension<object>(server.certPem, "keyUsage")).toMatchObject({ digitalSignature: true, keyEncipherment: true, keyCertSign: false });
    expect(x509.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
    expect(new Date(x509.validTo).getTime()).toBe(Date.parse("2026-03-01T12:00:00Z") + 825 * DAY_MS);
    expect(await opensslVerify(server.certPem, "sslserver")).toContain(": OK");
  });

  it("identifies the CA's key in authorityKeyIdentifier", () => {
    const caSki = extension<{ subjectKeyIdentifier: string }>(pair.certPem, "subjectKeyIdentifier").subjectKeyIdentifier;
    const der = forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(server.certPem))).toHex();
    // AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier } → 30 16 80 14 <20 bytes>
    expect(der).toContain(`30168014${caSki}`);
  });

  it("needs at least one host", () => {
    expect(() => issueServerCertificate(ca, { hosts: [], now: NOW })).toThrow(/at least one host/);
  });
});

describe("signDeviceCsr", () => {
  let device: ReturnType<typeof generateKeyAndCsr>;
  beforeAll(() => {
    device = generateKeyAndCsr("dev-0001");
  });

  it("issues a client certificate named only by the device id, whatever the CSR asked for", async () => {
    const csrPem = generateCsrForKey("admin", device.keyPem);
    const issued = signDeviceCsr(ca, csrPem, { deviceId: "dev-0001", validitySeconds: 30 * 86_400, now: NOW });
    const x509 = new X509Certificate(issued.certificatePem);
    expect(x509.subject).toBe("CN=dev-0001");
    expect(x509.subjectAltName).toBeUndefined();
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toEqual([CLIENT_AUTH]);
    expect(extension<object>(issued.certificatePem, "keyUsage")).toMatchObject({ digitalSignature: true, keyEncipherment: false });
    expect(x509.checkPrivateKey(createPrivateKey(device.keyPem))).toBe(true);
    expect(x509.verify(caX509.publicKey)).toBe(true);
    expect(await opensslVerify(issued.certificatePem, "sslclient")).toContain(": OK");
    await expect(opensslVerify(issued.certificatePem, "sslserver")).rejects.toThrow(/unsuitable certificate purpose/);
  });

  it("is valid from a minute before now for validitySeconds, and reports its serial and expiry", () => {
    const issued = signDeviceCsr(pair, device.csrPem, { deviceId: "dev-0001", validitySeconds: 3600, now: NOW });
    const x509 = new X509Certificate(issued.certificatePem);
    expect(new Date(x509.validFrom).toISOString()).toBe("2026-03-01T11:59:00.000Z");
    expect(new Date(x509.validTo).toISOString()).toBe("2026-03-01T13:00:00.000Z");
    expect(issued.notAfter.toISOString()).toBe("2026-03-01T13:00:00.000Z");
    expect(issued.serialNumber).toMatch(/^[0-9a-f]{32}$/);
    expect(issued.serialNumber.toUpperCase()).toBe(x509.serialNumber);
  });

  it("refuses a CSR whose signature does not match (a byte of the subject changed)", () => {
    const der = Buffer.from(forge.pem.decode(device.csrPem)[0]!.body, "binary");
    const at = der.indexOf("dev-0001");
    expect(at).toBeGreaterThan(0);
    der[at + 7] = "2".charCodeAt(0);
    const tampered = forge.pem.encode({ type: "CERTIFICATE REQUEST", body: der.toString("binary") });
    expect(() => signDeviceCsr(ca, tampered, { deviceId: "dev-0002", validitySeconds: 60, now: NOW })).toThrow(
      new CsrError("the CSR's signature does not match its public key; the request is corrupted or forged"),
    );
  });

  it("refuses a CSR that does not parse", () => {
    const truncated = forge.pem.encode({ type: "CERTIFICATE REQUEST", body: forge.pem.decode(device.csrPem)[0]!.body.slice(0, 200) });
    for (const pem of ["", "hello", truncated, pair.certPem]) {
      expect(() => signDeviceCsr(ca, pem, { deviceId: "d", validitySeconds: 60 })).toThrow(CsrError);
    }
  });

  it("refuses a key shorter than 2048 bits", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const csrPem = generateCsrForKey("d", privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    expect(() => signDeviceCsr(ca, csrPem, { deviceId: "d", validitySeconds: 60 })).toThrow(/has 1024 bits; at least 2048/);
  });

  it("refuses a key that is not RSA", async () => {
    const keyFile = join(dir, "ec.key");
    await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyFile]);
    const { stdout: csrPem } = await run("openssl", ["req", "-new", "-key", keyFile, "-subj", "/CN=d", "-sha256"]);
    expect(() => signDeviceCsr(ca, csrPem, { deviceId: "d", validitySeconds: 60 })).toThrow(/key is not RSA/);
  });

  it("refuses a CSR signed with SHA-1", () => {
    const csr = forge.pki.createCertificationRequest();
    const forgeKey = forge.pki.privateKeyFromPem(device.keyPem) as forge.pki.rsa.PrivateKey;
    csr.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
    csr.setSubject([{ name: "commonName", value: "d" }]);
    csr.sign(forgeKey, forge.md.sha1.create());
    const csrPem = forge.pki.certificationRequestToPem(csr);
    expect(() => signDeviceCsr(ca, csrPem, { deviceId: "d", validitySeconds: 60 })).toThrow(/signed with sha1WithRSAEncryption/);
  });

  // Signing speed is measured by `npm run bench:connections` (enrollment), not asserted here.
  it("gives every certificate its own serial number, also when many share one key", () => {
    const csrs = Array.from({ length: 200 }, (_, i) => generateCsrForKey(`sim-${i}`, device.keyPem));
    const serials = new Set(csrs.map((csrPem, i) => signDeviceCsr(ca, csrPem, { deviceId: `sim-${i}`, validitySeconds: 3600 }).serialNumber));
    expect(serials.size).toBe(200);
  });
});

describe("signWithKeyObject", () => {
  it("refuses digests other than SHA-256 and keys other than RSA private keys", () => {
    const rsa = createPrivateKey(pair.keyPem);
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(caX509.publicKey.export({ type: "spki", format: "pem" }).toString());
    expect(() => signWithKeyObject(csr, forge.md.sha1.create(), rsa)).toThrow(/only SHA-256/);
    const { privateKey: ec } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(() => signWithKeyObject(csr, forge.md.sha256.create(), ec)).toThrow(/RSA private key/);
  });
});
