import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CONNECT_KEY_PREFIX, ConnectKeyFormatError, decodeConnectKey, encodeConnectKey, type ConnectKey } from "../../shared/src/connect-key.js";

const KEY: ConnectKey = {
  url: "https://tether.example.com:8443",
  caFingerprint: "ab".repeat(32),
  secret: randomBytes(32).toString("base64url"),
};

/** A token carrying an arbitrary payload, as a tampered or hand-made key would. */
function tokenOf(payload: unknown): string {
  return CONNECT_KEY_PREFIX + Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
}

const payloadOf = (key: ConnectKey) => ({ v: 1, u: key.url, f: key.caFingerprint, k: key.secret });

function decodeError(token: string): ConnectKeyFormatError {
  try {
    decodeConnectKey(token);
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectKeyFormatError);
    return error as ConnectKeyFormatError;
  }
  throw new Error(`decoded ${token} without complaint`);
}

describe("connect keys", () => {
  it("round-trips URL, CA fingerprint and secret in a tck_ token of base64url characters", () => {
    const token = encodeConnectKey(KEY);
    expect(token).toMatch(/^tck_[A-Za-z0-9_-]+$/);
    expect(decodeConnectKey(token)).toEqual(KEY);
  });

  it("round-trips a key without a pin (a server with a publicly trusted certificate)", () => {
    const key = { ...KEY, caFingerprint: null };
    expect(decodeConnectKey(encodeConnectKey(key))).toEqual(key);
  });

  it("tolerates whitespace around a pasted key and a trailing slash on the URL", () => {
    expect(decodeConnectKey(`  ${encodeConnectKey(KEY)}\n`)).toEqual(KEY);
    expect(decodeConnectKey(tokenOf(payloadOf({ ...KEY, url: `${KEY.url}/` }))).url).toBe(KEY.url);
  });

  it("refuses a token without the tck_ prefix", () => {
    const token = encodeConnectKey(KEY);
    expect(decodeError(token.slice(CONNECT_KEY_PREFIX.length)).message).toContain('starts with "tck_"');
    expect(decodeError(`tak_${token.slice(4)}`).message).toContain('starts with "tck_"');
  });

  it("refuses a truncated token", () => {
    const token = encodeConnectKey(KEY);
    for (const cut of [1, 10, token.length - 8]) {
      expect(decodeError(token.slice(0, token.length - cut)).message).toMatch(/truncated or corrupted|not valid/);
    }
  });

  it("refuses characters outside base64url", () => {
    expect(decodeError(`${encodeConnectKey(KEY)}=`).message).toContain("base64url");
    expect(decodeError("tck_abc def").message).toContain("base64url");
  });

  it("refuses an http:// URL, when encoding and when decoding", () => {
    const plain = { ...KEY, url: "http://tether.example.com:8443" };
    expect(() => encodeConnectKey(plain)).toThrow();
    expect(decodeError(tokenOf(payloadOf(plain))).message).toContain("https://");
  });

  it.each([
    ["too short", "ab".repeat(31)],
    ["upper case", "AB".repeat(32)],
    ["colon-separated", Array.from({ length: 32 }, () => "ab").join(":")],
    ["not hex", "zz".repeat(32)],
  ])("refuses a CA fingerprint that is %s", (_what, caFingerprint) => {
    expect(() => encodeConnectKey({ ...KEY, caFingerprint })).toThrow();
    expect(decodeError(tokenOf(payloadOf({ ...KEY, caFingerprint }))).message).toContain("64 hex characters");
  });

  it("refuses a malformed secret, an unknown version and a payload that is not an object", () => {
    expect(decodeError(tokenOf(payloadOf({ ...KEY, secret: "short" }))).message).toContain("secret");
    expect(decodeError(tokenOf({ ...payloadOf(KEY), v: 2 })).message).toContain("not valid");
    expect(decodeError(tokenOf("just a string")).message).toContain("not valid");
  });
});
