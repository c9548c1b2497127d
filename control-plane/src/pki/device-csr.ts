import { createPublicKey, verify } from "node:crypto";
import forge from "node-forge";

/** A device's certificate signing request was refused; the message says why. */
export class CsrError extends Error {
  override name = "CsrError";
}

export const MIN_DEVICE_KEY_BITS = 2048;

/** Hash of each CSR signature algorithm we accept: RSA PKCS#1 v1.5 with SHA-2. */
const SIGNATURE_HASHES: Record<string, string> = {
  [forge.pki.oids.sha256WithRSAEncryption!]: "sha256",
  [forge.pki.oids.sha384WithRSAEncryption!]: "sha384",
  [forge.pki.oids.sha512WithRSAEncryption!]: "sha512",
};

/**
 * Parses a PKCS#10 CSR and checks that it is signed by its own key (proof that the device holds the
 * private key) and that the key is RSA of at least 2048 bits. Returns the public key; everything else
 * in the CSR, subject included, is for the CA to decide and is ignored.
 */
export function readDeviceCsr(csrPem: string): forge.pki.rsa.PublicKey {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    // The signature is checked below in OpenSSL, so forge need not hash the request.
    csr = forge.pki.certificationRequestFromPem(csrPem, false);
  } catch (error) {
    // forge's own wording for a non-RSA SubjectPublicKeyInfo (x509.js, certificationRequestFromAsn1).
    if (error instanceof Error && error.message.includes("OID is not RSA")) {
      throw new CsrError(`the CSR's key is not RSA; device keys must be RSA of at least ${MIN_DEVICE_KEY_BITS} bits`);
    }
    throw new CsrError("the CSR is not a PEM-encoded PKCS#10 certificate request", { cause: error });
  }

  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey;
  const bits = publicKey.n.bitLength();
  if (bits < MIN_DEVICE_KEY_BITS) {
    throw new CsrError(`the CSR's RSA key has ${bits} bits; at least ${MIN_DEVICE_KEY_BITS} are required`);
  }
  const hash = SIGNATURE_HASHES[csr.signatureOid ?? ""];
  if (hash === undefined) {
    const name = forge.pki.oids[csr.signatureOid ?? ""] ?? csr.signatureOid;
    throw new CsrError(`the CSR is signed with ${name}; sign it with sha256WithRSAEncryption`);
  }
  // The request info as received, not rebuilt from parsed fields, so the signed bytes are exact.
  const signedBytes = forge.asn1.toDer(csr.certificationRequestInfo as forge.asn1.Asn1).getBytes();
  const spki = forge.asn1.toDer(forge.pki.publicKeyToAsn1(publicKey)).getBytes();
  const valid = verify(
    hash,
    Buffer.from(signedBytes, "binary"),
    createPublicKey({ key: Buffer.from(spki, "binary"), format: "der", type: "spki" }),
    Buffer.from(csr.signature as string, "binary"),
  );
  if (!valid) throw new CsrError("the CSR's signature does not match its public key; the request is corrupted or forged");
  return publicKey;
}
