import { z } from "zod";

/**
 * A connect key is everything an agent needs to join: `tck_` + base64url(JSON) carrying the control
 * plane's URL, the SHA-256 fingerprint of its CA (absent when the server uses a publicly trusted
 * certificate, in which case the system trust store is used) and the key's secret. Pinning the CA in
 * the key is what makes `tether-agent run --connect-key K` safe on an untrusted network, as
 * `kubeadm join --discovery-token-ca-cert-hash` does.
 */
export const CONNECT_KEY_PREFIX = "tck_";

/** The characters after the prefix: base64url without padding. */
export const BASE64URL_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/**
 * The shape of a connect key, no more: what the install scripts check before a key goes anywhere
 * (they cannot decode it). A key of this shape may still be invalid; decodeConnectKey says why.
 */
export const CONNECT_KEY_SHAPE = /^tck_[A-Za-z0-9_-]+$/;

/** Lower-case hex SHA-256 of the CA certificate's DER bytes, no separators. */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;

const ConnectKeyPayloadSchema = z.object({
  v: z.literal(1),
  /** Base URL of the control plane, https only. */
  u: z.url({ protocol: /^https$/, error: "the URL must start with https://" }),
  /** CA fingerprint; null means "trust the system store". */
  f: z.string().regex(FINGERPRINT_PATTERN, "the CA fingerprint must be 64 hex characters").nullable(),
  /** The key's secret: 32 random bytes, base64url. */
  k: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "the key secret is malformed"),
});

export interface ConnectKey {
  url: string;
  caFingerprint: string | null;
  secret: string;
}

export function encodeConnectKey(key: ConnectKey): string {
  const payload = { v: 1, u: key.url, f: key.caFingerprint, k: key.secret };
  ConnectKeyPayloadSchema.parse(payload);
  return CONNECT_KEY_PREFIX + Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
}

export class ConnectKeyFormatError extends Error {
  override name = "ConnectKeyFormatError";
}

/** Decodes a connect key; throws ConnectKeyFormatError with a message that says what is wrong. */
export function decodeConnectKey(token: string): ConnectKey {
  const trimmed = token.trim();
  if (!trimmed.startsWith(CONNECT_KEY_PREFIX)) {
    throw new ConnectKeyFormatError(`a connect key starts with "${CONNECT_KEY_PREFIX}"; check that it was copied whole`);
  }
  const body = trimmed.slice(CONNECT_KEY_PREFIX.length);
  if (!CONNECT_KEY_SHAPE.test(trimmed)) {
    throw new ConnectKeyFormatError("the connect key contains characters outside base64url; check that it was copied whole");
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    throw new ConnectKeyFormatError("the connect key is truncated or corrupted; copy it again");
  }
  const parsed = ConnectKeyPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConnectKeyFormatError(`the connect key is not valid: ${issue?.message ?? "unknown problem"}`);
  }
  return { url: parsed.data.u.replace(/\/+$/, ""), caFingerprint: parsed.data.f, secret: parsed.data.k };
}
