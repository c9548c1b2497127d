import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { x509Fingerprint } from "../../../shared/src/tls/fingerprint.js";
import { buildCertificate, forgePublicKey, type CertificateSpec } from "./certificate-builder.js";

export interface CaKeyPair {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
}

export interface CreateCaOptions {
  commonName: string;
  validityDays?: number;
  now?: Date;
}

/** Makes a new self-signed root CA: RSA 2048, may sign end-entity certificates only (pathlen 0). */
export function createCa({ commonName, validityDays = 3650, now = new Date() }: CreateCaOptions): CaKeyPair & { fingerprint: string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = buildCertificate({
    commonName,
    publicKey: forgePublicKey(publicKey),
    signingKey: privateKey,
    now,
    validitySeconds: validityDays * 86_400,
    extensions: [
      { name: "basicConstraints", critical: true, cA: true, pathLenConstraint: 0 },
      { name: "keyUsage", critical: true, keyCertSign: true, cRLSign: true },
      { name: "subjectKeyIdentifier" },
    ],
  });
  const certPem = forge.pki.certificateToPem(cert);
  return {
    certPem,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    fingerprint: x509Fingerprint(new X509Certificate(certPem)),
  };
}

/**
 * A CA loaded once, ready to issue many certificates: the private key is parsed into a KeyObject and
 * the issuer name and key identifier are read up front, so each issuance only builds and signs.
 */
export class CertificateAuthority implements CaKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
  readonly fingerprint: string;
  readonly #key: KeyObject;
  readonly #subject: forge.pki.CertificateField[];
  /** The CA's subjectKeyIdentifier as a binary string, for the authorityKeyIdentifier of what it issues. */
  readonly #keyIdentifier: string;

  constructor({ certPem, keyPem }: CaKeyPair) {
    const x509 = new X509Certificate(certPem);
    this.#key = createPrivateKey(keyPem);
    if (!x509.ca) throw new Error("the CA certificate is not a CA (basicConstraints CA:false)");
    if (!x509.checkPrivateKey(this.#key)) throw new Error("the CA private key does not match the CA certificate");
    this.certPem = certPem;
    this.keyPem = keyPem;
    this.fingerprint = x509Fingerprint(x509);

    const cert = forge.pki.certificateFromPem(certPem);
    this.#subject = cert.subject.attributes.map(decodedAttribute);
    const ski = cert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier?: string } | undefined;
    this.#keyIdentifier = ski?.subjectKeyIdentifier
      ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
      : cert.generateSubjectKeyIdentifier().getBytes();
  }

  /** Builds and signs a certificate issued by this CA. */
  issue(spec: Omit<CertificateSpec, "issuer" | "signingKey">): forge.pki.Certificate {
    return buildCertificate({
      ...spec,
      issuer: this.#subject,
      signingKey: this.#key,
      // forge's `keyIdentifier: true` would use the new certificate's own key, so pass the CA's.
      extensions: [...spec.extensions, { name: "authorityKeyIdentifier", keyIdentifier: this.#keyIdentifier }],
    });
  }
}

/** Loads a CA unless it already is one; callers that issue often should keep a CertificateAuthority. */
export function authorityOf(ca: CaKeyPair | CertificateAuthority): CertificateAuthority {
  return ca instanceof CertificateAuthority ? ca : new CertificateAuthority(ca);
}

/**
 * forge parses attribute values as raw bytes but encodes UTF8String values from text, so a parsed
 * non-ASCII name would be encoded twice when reused as an issuer; decode it first.
 */
function decodedAttribute(attr: forge.pki.CertificateField): forge.pki.CertificateField {
  const isUtf8 = (attr.valueTagClass as number | undefined) === forge.asn1.Type.UTF8;
  return isUtf8 && typeof attr.value === "string" ? { ...attr, value: forge.util.decodeUtf8(attr.value) } : attr;
}
