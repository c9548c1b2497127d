import { randomBytes, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { signWithKeyObject } from "../../../shared/src/tls/native-rsa-signer.js";

/** Certificates start this long before "now", so an endpoint whose clock runs a little behind still accepts them. */
const CLOCK_SKEW_MS = 60_000;

export interface CertificateSpec {
  commonName: string;
  publicKey: forge.pki.rsa.PublicKey;
  /** The issuer's name as forge attributes; absent for a self-signed certificate. */
  issuer?: forge.pki.CertificateField[];
  signingKey: KeyObject;
  now: Date;
  validitySeconds: number;
  /** forge extension objects, e.g. `{ name: "keyUsage", digitalSignature: true }`. */
  extensions: object[];
}

/** Builds and signs (RSA, SHA-256) a certificate with a fresh random serial number. */
export function buildCertificate(spec: CertificateSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialNumber();
  const { notBefore, notAfter } = validityWindow(spec.now, spec.validitySeconds);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = [utf8Attribute("commonName", spec.commonName)];
  cert.setSubject(subject);
  cert.setIssuer(spec.issuer ?? subject);
  // Before the extensions: forge derives subjectKeyIdentifier from the public key when it fills them in.
  cert.publicKey = spec.publicKey;
  cert.setExtensions(spec.extensions);
  signWithKeyObject(cert, forge.md.sha256.create(), spec.signingKey);
  return cert;
}

/** notAfter is counted from `now`, not from the back-dated notBefore; X.509 times have whole seconds. */
function validityWindow(now: Date, validitySeconds: number): { notBefore: Date; notAfter: Date } {
  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  return { notBefore: new Date(nowMs - CLOCK_SKEW_MS), notAfter: new Date(nowMs + validitySeconds * 1000) };
}

export function forgePublicKey(publicKey: KeyObject): forge.pki.rsa.PublicKey {
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return forge.pki.publicKeyFromPem(pem) as forge.pki.rsa.PublicKey;
}

/**
 * A UTF8String attribute (RFC 5280 §4.1.2.4). forge's default, PrintableString, cannot hold "_", "@",
 * "*" or any non-ASCII letter. (@types/node-forge mistypes valueTagClass as an asn1.Class.)
 */
function utf8Attribute(name: string, value: string): forge.pki.CertificateField {
  return { name, value, valueTagClass: forge.asn1.Type.UTF8 as number };
}

/** 16 random bytes, positive and minimally DER-encoded: sign bit clear, first byte never zero. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString("hex");
}
