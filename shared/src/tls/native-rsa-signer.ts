import { constants, privateEncrypt, type KeyObject } from "node:crypto";

/**
 * node-forge builds certificates and CSRs well, but its RSA is pure JavaScript: one 2048-bit signature
 * costs tens of milliseconds, far too slow for enrolling tens of thousands of devices. forge's
 * `cert.sign(key, md)` and `csr.sign(key, md)` only ever call `key.sign(md)` and store the binary
 * string it returns, so a stand-in key that signs with OpenSSL is all it takes.
 *
 * Typed structurally so that shared/ does not depend on node-forge.
 */
export interface ForgeMessageDigest {
  algorithm: string;
  digest(): { getBytes(): string };
}

interface ForgeSignable<Key, Digest extends ForgeMessageDigest> {
  sign(key: Key, md?: Digest): void;
}

/** DER of a PKCS#1 v1.5 DigestInfo for SHA-256 up to the digest itself (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from("3031300d060960864801650304020105000420", "hex");

/** Signs a forge certificate or CSR with `md` (which must be SHA-256) and an RSA private KeyObject. */
export function signWithKeyObject<Key, Digest extends ForgeMessageDigest>(
  signable: ForgeSignable<Key, Digest>,
  md: Digest,
  privateKey: KeyObject,
): void {
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "rsa") {
    throw new TypeError("signing needs an RSA private key");
  }
  const signer = {
    sign(digest: ForgeMessageDigest): string {
      if (digest.algorithm !== "sha256") {
        throw new TypeError(`only SHA-256 signatures are supported, not ${digest.algorithm}`);
      }
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO_PREFIX, Buffer.from(digest.digest().getBytes(), "binary")]);
      // PKCS#1 v1.5 signing is exactly "private-key encryption" of the DigestInfo with type-1 padding.
      return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString("binary");
    },
  };
  signable.sign(signer as unknown as Key, md);
}
