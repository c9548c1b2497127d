import { createHash, createPublicKey, type JsonWebKey } from "node:crypto";

/**
 * OpenSSH public keys as they appear in authorized_keys: `TYPE BASE64 [COMMENT]`. The base64 blob is
 * parsed in the SSH wire format (RFC 4253 §6.6, RFC 5656, RFC 8709, OpenSSH's PROTOCOL.u2f), its type
 * must match the prefix, and the key material is loaded with node:crypto, so only keys sshd would
 * accept reach a device's authorized_keys.
 */

export interface SshPublicKey {
  type: string;
  /** Size of the key in bits (RSA modulus, curve size, 256 for Ed25519). */
  bits: number;
  /** As `ssh-keygen -l` prints it: `SHA256:` and the unpadded base64 of the blob's SHA-256. */
  fingerprint: string;
  /** `TYPE BASE64 COMMENT` with single spaces; the comment may be empty. */
  line: string;
}

export const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16_384;
const MAX_LINE = 16_384;

const CURVES: Record<string, { crv: string; bytes: number; bits: number }> = {
  nistp256: { crv: "P-256", bytes: 32, bits: 256 },
  nistp384: { crv: "P-384", bytes: 48, bits: 384 },
  nistp521: { crv: "P-521", bytes: 66, bits: 521 },
};

/** Reads SSH wire-format fields from a blob, refusing anything that runs past its end. */
class WireReader {
  private offset = 0;
  constructor(private readonly blob: Buffer) {}

  bytes(what: string): Buffer {
    if (this.offset + 4 > this.blob.length) throw new SshKeyError(`the key data ends before its ${what}`);
    const length = this.blob.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.blob.length) throw new SshKeyError(`the key data ends inside its ${what}`);
    this.offset = start + length;
    return this.blob.subarray(start, start + length);
  }

  text(what: string): string {
    return this.bytes(what).toString("latin1");
  }

  /** An unsigned mpint, without the sign byte. */
  mpint(what: string): Buffer {
    const value = this.bytes(what);
    if (value.length > 0 && (value[0]! & 0x80) !== 0) throw new SshKeyError(`its ${what} is negative`);
    return value[0] === 0 ? value.subarray(1) : value;
  }

  end(): void {
    if (this.offset !== this.blob.length) throw new SshKeyError("the key data has extra bytes after the key");
  }
}

export class SshKeyError extends Error {
  override name = "SshKeyError";
}

/** Parses one authorized_keys-style line; throws SshKeyError saying what is wrong. */
export function parseSshPublicKey(text: string): SshPublicKey {
  const line = text.trim();
  if (line.length > MAX_LINE) throw new SshKeyError(`is longer than ${MAX_LINE} characters`);
  if (/[\r\n]/.test(line)) throw new SshKeyError("holds more than one line: give one key per entry");
  if (/[\p{Cc}]/u.test(line.replace(/\t/g, " "))) throw new SshKeyError("contains control characters");
  const [type = "", data = "", ...comment] = line.split(/[ \t]+/);
  if (!/^[a-z0-9@.-]+$/.test(type) || /^(ssh|ecdsa|sk)-/.test(data)) {
    throw new SshKeyError('must start with the key type, e.g. "ssh-ed25519 AAAA… comment" (authorized_keys options are not accepted)');
  }
  if (type.endsWith("-cert-v01@openssh.com")) throw new SshKeyError("is an SSH certificate; give the public key itself");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) throw new SshKeyError("has no valid base64 key data after the key type");
  const blob = Buffer.from(data, "base64");
  const wire = new WireReader(blob);
  const inner = wire.text("key type");
  if (inner !== type) throw new SshKeyError(`says "${type}" but its key data is of type "${inner || "(empty)"}"`);
  const bits = readKey(type, wire);
  wire.end();
  return {
    type,
    bits,
    fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
    line: [type, data, ...comment].join(" "),
  };
}

/** Reads and checks the key material for `type`; returns its size in bits. */
function readKey(type: string, wire: WireReader): number {
  switch (type) {
    case "ssh-ed25519":
      return readEd25519(wire);
    case "sk-ssh-ed25519@openssh.com": {
      const bits = readEd25519(wire);
      readApplication(wire);
      return bits;
    }
    case "ssh-rsa":
      return readRsa(wire);
    case "ssh-dss":
      throw new SshKeyError("is a DSA key, which OpenSSH no longer accepts; use ssh-ed25519");
  }
  const ecdsa = /^(sk-)?ecdsa-sha2-(nistp\d+)(@openssh\.com)?$/.exec(type);
  if (ecdsa && CURVES[ecdsa[2]!] && Boolean(ecdsa[1]) === Boolean(ecdsa[3]) && (!ecdsa[1] || ecdsa[2] === "nistp256")) {
    const bits = readEcdsa(ecdsa[2]!, wire);
    if (ecdsa[1]) readApplication(wire);
    return bits;
  }
  throw new SshKeyError(`has the unsupported key type "${type}"; use ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (${MIN_RSA_BITS} bits or more) or a security-key (sk-) type`);
}

function readEd25519(wire: WireReader): number {
  const key = wire.bytes("Ed25519 key");
  if (key.length !== 32) throw new SshKeyError(`has an Ed25519 key of ${key.length} bytes instead of 32`);
  load({ kty: "OKP", crv: "Ed25519", x: key.toString("base64url") });
  return 256;
}

function readEcdsa(curveName: string, wire: WireReader): number {
  const curve = CURVES[curveName]!;
  const inner = wire.text("curve name");
  if (inner !== curveName) throw new SshKeyError(`names curve "${inner}" in its key data, not ${curveName}`);
  const point = wire.bytes("EC point");
  if (point.length !== 1 + 2 * curve.bytes || point[0] !== 0x04) throw new SshKeyError(`has an EC point that is not an uncompressed ${curveName} point`);
  const x = point.subarray(1, 1 + curve.bytes);
  const y = point.subarray(1 + curve.bytes);
  load({ kty: "EC", crv: curve.crv, x: x.toString("base64url"), y: y.toString("base64url") });
  return curve.bits;
}

function readRsa(wire: WireReader): number {
  const e = wire.mpint("RSA exponent");
  const n = wire.mpint("RSA modulus");
  const bits = n.length === 0 ? 0 : (n.length - 1) * 8 + n[0]!.toString(2).length;
  if (bits < MIN_RSA_BITS) throw new SshKeyError(`is a ${bits}-bit RSA key; RSA keys need at least ${MIN_RSA_BITS} bits (or use ssh-ed25519)`);
  if (bits > MAX_RSA_BITS) throw new SshKeyError(`is a ${bits}-bit RSA key; at most ${MAX_RSA_BITS} bits are accepted`);
  load({ kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") });
  return bits;
}

/** Security-key types end with the FIDO application, `ssh:` unless the key was made with another. */
function readApplication(wire: WireReader): void {
  const application = wire.text("security-key application");
  if (!application.startsWith("ssh:")) throw new SshKeyError(`has the security-key application "${application}"; OpenSSH keys use one starting with "ssh:"`);
}

/** Lets node:crypto (OpenSSL) check the key material: points on the curve, a usable RSA key. */
function load(jwk: JsonWebKey): void {
  try {
    createPublicKey({ key: jwk, format: "jwk" });
  } catch (error) {
    throw new SshKeyError(`has key data that is not a valid ${jwk.kty} public key (${(error as Error).message})`);
  }
}
