import { createHash, X509Certificate } from "node:crypto";

/**
 * Pins of a server certificate's public key, for clients that reach a control plane with its own CA
 * before they have that CA: the one-liners in docs/service.md ("Installing with the one-liner").
 * A pin stays valid as long as the server keeps its key (a renewed certificate for the same key keeps
 * it).
 */

/** curl's `--pinnedpubkey` form: `sha256//` + base64 of the SHA-256 of the SubjectPublicKeyInfo DER. */
export function curlPublicKeyPin(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: "spki", format: "der" });
  return `sha256//${createHash("sha256").update(spki).digest("base64")}`;
}

/**
 * Base64 of the SHA-256 of the key inside the SubjectPublicKeyInfo (its BIT STRING's content): what
 * .NET's `X509Certificate.GetPublicKey()` returns, so Windows PowerShell 5.1, which cannot export a
 * SubjectPublicKeyInfo, can compare it.
 */
export function dotnetPublicKeyPin(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(subjectPublicKeyBits(spki)).digest("base64");
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }. */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  const outer = readTlv(spki, 0, 0x30);
  const algorithm = readTlv(spki, outer.contentStart, 0x30);
  const key = readTlv(spki, algorithm.end, 0x03);
  // The BIT STRING's first content byte counts the unused bits of the last byte: 0 for a key.
  if (spki[key.contentStart] !== 0) throw new Error("the public key is not a whole number of bytes");
  return spki.subarray(key.contentStart + 1, key.end);
}

/** One DER tag-length-value at `offset`, which must carry `tag`. */
function readTlv(der: Buffer, offset: number, tag: number): { contentStart: number; end: number } {
  if (der[offset] !== tag) throw new Error(`expected DER tag 0x${tag.toString(16)} at byte ${offset}`);
  const first = der[offset + 1]!;
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const bytes = first & 0x7f;
    length = der.readUIntBE(offset + 2, bytes);
    contentStart += bytes;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error("truncated DER");
  return { contentStart, end };
}
