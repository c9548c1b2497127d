import { generateKeyPairSync } from "node:crypto";
import { isIP } from "node:net";
import forge from "node-forge";
import { authorityOf, type CaKeyPair, type CertificateAuthority } from "./ca.js";
import { forgePublicKey } from "./certificate-builder.js";

export interface ServerCertificateOptions {
  /** Host names and IP addresses clients use to reach the server; the first becomes the common name. */
  hosts: string[];
  validityDays?: number;
  now?: Date;
}

/**
 * Issues a TLS server certificate with a new RSA 2048 key. The default 825 days is the longest
 * lifetime Apple platforms accept for a server certificate.
 */
export function issueServerCertificate(
  ca: CaKeyPair | CertificateAuthority,
  { hosts, validityDays = 825, now = new Date() }: ServerCertificateOptions,
): { certPem: string; keyPem: string } {
  const [commonName] = hosts;
  if (commonName === undefined) throw new Error("a server certificate needs at least one host name or IP address");
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = authorityOf(ca).issue({
    commonName,
    publicKey: forgePublicKey(publicKey),
    now,
    validitySeconds: validityDays * 86_400,
    extensions: [
      { name: "basicConstraints", critical: true, cA: false },
      { name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: hosts.map(subjectAltName) },
    ],
  });
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

const DNS_NAME = 2;
const IP_ADDRESS = 7;

function subjectAltName(host: string): { type: number; value?: string; ip?: string } {
  switch (isIP(host)) {
    case 4:
      return { type: IP_ADDRESS, ip: host };
    case 6:
      // forge's IPv6 parser does not understand an embedded IPv4 tail ("::ffff:10.0.0.1"); the WHATWG
      // URL parser rewrites the address as plain hex groups.
      return { type: IP_ADDRESS, ip: new URL(`http://[${host}]/`).hostname.slice(1, -1) };
    default:
      return { type: DNS_NAME, value: host };
  }
}
