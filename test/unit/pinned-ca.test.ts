import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { createServer as createTcpServer, type Server } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import forge from "node-forge";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CertificateAuthority, createCa } from "../../control-plane/src/pki/ca.js";
import { buildCertificate, forgePublicKey } from "../../control-plane/src/pki/certificate-builder.js";
import { issueServerCertificate } from "../../control-plane/src/pki/server-certificate.js";
import { CaPinMismatchError, ServerUnreachableError, TlsTrustError } from "../../shared/src/net-errors.js";
import { fetchPinnedCa } from "../../shared/src/tls/pinned-ca.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return `https://127.0.0.1:${port}`;
}

/** A TLS server presenting `chain` (PEM, leaf first). */
function tlsServer(chain: string, keyPem: string): Promise<string> {
  return listen(createTlsServer({ cert: chain, key: keyPem }, (socket) => socket.end()));
}

let ca: ReturnType<typeof createCa>;
let leaf: { certPem: string; keyPem: string };
beforeAll(() => {
  ca = createCa({ commonName: "Tether CA" });
  leaf = issueServerCertificate(new CertificateAuthority(ca), { hosts: ["127.0.0.1"] });
});

/**
 * A CA with its own key but the same name and key identifier as `real`, so that a client links `real`
 * above the certificates it issues and only a signature check tells them apart.
 */
function lookalikeCa(real: { certPem: string }): { certPem: string; keyPem: string } {
  const realCert = forge.pki.certificateFromPem(real.certPem);
  const { subjectKeyIdentifier } = realCert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier: string };
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = buildCertificate({
    commonName: "Tether CA",
    publicKey: forgePublicKey(publicKey),
    signingKey: privateKey,
    now: new Date(),
    validitySeconds: 86_400,
    extensions: [
      { name: "basicConstraints", critical: true, cA: true },
      { name: "keyUsage", critical: true, keyCertSign: true },
      {
        name: "subjectKeyIdentifier",
        value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, forge.util.hexToBytes(subjectKeyIdentifier)),
      },
    ],
  });
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

describe("fetchPinnedCa", () => {
  it("returns the CA certificate when the server presents the pinned CA", async () => {
    const url = await tlsServer(leaf.certPem + ca.certPem, leaf.keyPem);
    const pem = await fetchPinnedCa(url, ca.fingerprint);
    expect(new X509Certificate(pem).raw.equals(new X509Certificate(ca.certPem).raw)).toBe(true);
  });

  it("accepts the pin in Node's upper-case colon-separated form too", async () => {
    const url = await tlsServer(leaf.certPem + ca.certPem, leaf.keyPem);
    const pem = await fetchPinnedCa(url, new X509Certificate(ca.certPem).fingerprint256);
    expect(new X509Certificate(pem).subject).toBe("CN=Tether CA");
  });

  it("refuses a server whose CA is not the pinned one, naming both fingerprints", async () => {
    const other = createCa({ commonName: "Tether CA" });
    const url = await tlsServer(leaf.certPem + ca.certPem, leaf.keyPem);
    const error = await fetchPinnedCa(url, other.fingerprint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaPinMismatchError);
    expect((error as Error).message).toBe(
      `the server at ${url}/ presented a CA with fingerprint ${ca.fingerprint}, while the connect key pins ${other.fingerprint}: ` +
        "the key belongs to another control plane, or someone is intercepting the connection",
    );
  });

  it("refuses a server that presents only its own certificate, and says so", async () => {
    const url = await tlsServer(leaf.certPem, leaf.keyPem);
    const error = await fetchPinnedCa(url, ca.fingerprint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaPinMismatchError);
    expect(error).toMatchObject({ presentedIsCa: false });
    expect((error as Error).message).toContain("presented no CA certificate");
  });

  it("refuses an interceptor that replays the pinned CA next to a certificate from another CA", async () => {
    const impostor = new CertificateAuthority(lookalikeCa(ca));
    const forged = issueServerCertificate(impostor, { hosts: ["127.0.0.1"] });
    const url = await tlsServer(forged.certPem + ca.certPem, forged.keyPem);
    const error = await fetchPinnedCa(url, ca.fingerprint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsTrustError);
    expect(error).toMatchObject({ code: "NOT_SIGNED_BY_PINNED_CA" });
  });

  it("refuses a pin that names the server's own certificate rather than a CA", async () => {
    const url = await tlsServer(leaf.certPem + ca.certPem, leaf.keyPem);
    const error = await fetchPinnedCa(url, new X509Certificate(leaf.certPem).fingerprint256).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsTrustError);
    expect(error).toMatchObject({ code: "PINNED_CERT_NOT_CA" });
  });

  it("refuses an interceptor whose certificate does not even name the pinned CA as issuer", async () => {
    const forged = issueServerCertificate(createCa({ commonName: "Tether CA" }), { hosts: ["127.0.0.1"] });
    const url = await tlsServer(forged.certPem + ca.certPem, forged.keyPem);
    await expect(fetchPinnedCa(url, ca.fingerprint)).rejects.toThrow(CaPinMismatchError);
  });

  it("says nothing is listening when the port is closed", async () => {
    const url = await listen(createTcpServer());
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const error = await fetchPinnedCa(url, ca.fingerprint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect(error).toMatchObject({ code: "ECONNREFUSED" });
    expect((error as Error).message).toBe(`cannot reach the server at ${url}/: nothing is listening at ${url.slice("https://".length)}`);
  });

  it("says the host name does not resolve", async () => {
    const error = await fetchPinnedCa("https://tether.invalid:8443", ca.fingerprint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toMatch(/the host name tether\.invalid (does not resolve|could not be resolved)/);
  });

  it("gives up on a server that never answers the handshake", async () => {
    // Reads the ClientHello and never answers.
    const url = await listen(createTcpServer((socket) => socket.resume()));
    const started = Date.now();
    const error = await fetchPinnedCa(url, ca.fingerprint, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toContain("no answer within 300 ms");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("refuses a URL that is not https", async () => {
    await expect(fetchPinnedCa("http://127.0.0.1:1", ca.fingerprint)).rejects.toThrow(/must start with https:\/\//);
  });
});
