import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { signWithKeyObject } from "../../../shared/src/tls/native-rsa-signer.js";

/**
 * The device's own key pair and its certificate signing request. The private key never leaves the
 * device; the control plane signs the CSR and decides the certificate's subject itself.
 */
export function generateKeyAndCsr(deviceId: string): { keyPem: string; csrPem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    csrPem: csrFor(deviceId, privateKey),
  };
}

/** A CSR for an existing key (PEM): for renewal, and for simulators that share one key among many devices. */
export function generateCsrForKey(deviceId: string, keyPem: string): string {
  const privateKey = createPrivateKey(keyPem);
  if (privateKey.asymmetricKeyType !== "rsa") {
    throw new TypeError(`device keys are RSA; this key is ${privateKey.asymmetricKeyType ?? "of an unknown type"}`);
  }
  return csrFor(deviceId, privateKey);
}

function csrFor(deviceId: string, privateKey: KeyObject): string {
  const csr = forge.pki.createCertificationRequest();
  const publicKeyPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  csr.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  csr.setSubject([{ name: "commonName", value: deviceId, valueTagClass: forge.asn1.Type.UTF8 as number }]);
  signWithKeyObject(csr, forge.md.sha256.create(), privateKey);
  return forge.pki.certificationRequestToPem(csr);
}
