import forge from "node-forge";
import { authorityOf, type CaKeyPair, type CertificateAuthority } from "./ca.js";
import { readDeviceCsr } from "./device-csr.js";

export interface DeviceCertificateOptions {
  deviceId: string;
  validitySeconds: number;
  now?: Date;
}

export interface DeviceCertificate {
  certificatePem: string;
  /** Lower-case hex, as encoded in the certificate. */
  serialNumber: string;
  notAfter: Date;
}

/**
 * Issues a device's client certificate from its CSR. The subject is exactly CN=<deviceId> whatever the
 * CSR asked for: the control plane, not the device, decides who a certificate names. Throws CsrError
 * for a CSR that is malformed, forged or has a weak key.
 */
export function signDeviceCsr(
  ca: CaKeyPair | CertificateAuthority,
  csrPem: string,
  { deviceId, validitySeconds, now = new Date() }: DeviceCertificateOptions,
): DeviceCertificate {
  const publicKey = readDeviceCsr(csrPem);
  const cert = authorityOf(ca).issue({
    commonName: deviceId,
    publicKey,
    now,
    validitySeconds,
    extensions: [
      { name: "basicConstraints", critical: true, cA: false },
      { name: "keyUsage", critical: true, digitalSignature: true },
      { name: "extKeyUsage", clientAuth: true },
    ],
  });
  return {
    certificatePem: forge.pki.certificateToPem(cert),
    serialNumber: cert.serialNumber,
    notAfter: cert.validity.notAfter,
  };
}
