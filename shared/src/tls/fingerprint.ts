import { createHash, X509Certificate } from "node:crypto";

/**
 * Lower-case hex SHA-256 of a certificate's DER bytes, no separators: the form a connect key pins.
 * For a PEM chain this is the fingerprint of the first certificate.
 */
export function certificateFingerprint(pem: string): string {
  return x509Fingerprint(new X509Certificate(pem));
}

export function x509Fingerprint(cert: X509Certificate): string {
  return createHash("sha256").update(cert.raw).digest("hex");
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, in order, each as its own PEM; text between blocks is dropped. */
export function splitPemChain(pem: string): string[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => `${block}\n`);
}
