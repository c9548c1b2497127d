import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SecretBox, SecretBoxError } from "../../control-plane/src/services/secret-box.js";

/** The secret box on a real key file: sealing, tamper detection, context binding, and the key file itself. */

let dir: string;
let keyFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tether-secret-box-"));
  keyFile = join(dir, "pki", "data.key");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `sealed` with one base64url character of part `index` (1 IV, 2 ciphertext, 3 tag) changed. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split(".");
  const part = parts[index]!;
  parts[index] = (part[0] === "A" ? "B" : "A") + part.slice(1);
  return parts.join(".");
}

describe("SecretBox", () => {
  it("opens what it sealed, and seals the same secret differently each time", () => {
    const box = new SecretBox(keyFile);
    const a = box.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "totp:usr_1");
    const b = box.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "totp:usr_1");
    expect(a).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("JBSWY3DP");
    expect(box.open(a, "totp:usr_1")).toBe("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    expect(box.open(b, "totp:usr_1")).toBe("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    expect(box.open(box.seal("", "x"), "x")).toBe("");
  });

  it("detects any change to the IV, the ciphertext or the tag", () => {
    const box = new SecretBox(keyFile);
    const sealed = box.seal("a secret worth keeping", "totp:usr_1");
    for (const index of [1, 2, 3]) expect(() => box.open(tamper(sealed, index), "totp:usr_1"), `part ${index}`).toThrow(SecretBoxError);
    // A shortened tag would be weaker: refused rather than checked.
    expect(() => box.open(sealed.slice(0, -4), "totp:usr_1")).toThrow(SecretBoxError);
    expect(() => box.open(sealed.split(".").slice(0, 3).join("."), "totp:usr_1")).toThrow(/not a sealed secret/);
    expect(() => box.open(`v2${sealed.slice(2)}`, "totp:usr_1")).toThrow(/not a sealed secret/);
  });

  it("opens a value only in the context it was sealed for (a value copied to another user's row stays shut)", () => {
    const box = new SecretBox(keyFile);
    const sealed = box.seal("secret", "totp:usr_1");
    expect(() => box.open(sealed, "totp:usr_2")).toThrow(/did not authenticate/);
  });

  it("makes the key file on first use, 0600, and a second box on it opens the first's values", () => {
    const first = new SecretBox(keyFile);
    const sealed = first.seal("secret", "c");
    const key = Buffer.from(readFileSync(keyFile, "utf8").trim(), "base64");
    expect(key).toHaveLength(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "pki")).mode & 0o777).toBe(0o700);
    expect(new SecretBox(keyFile).open(sealed, "c")).toBe("secret");
  });

  it("cannot open values sealed under another key", () => {
    const sealed = new SecretBox(keyFile).seal("secret", "c");
    const other = new SecretBox(join(dir, "other.key"));
    expect(() => other.open(sealed, "c")).toThrow(SecretBoxError);
  });

  it("refuses a key file that does not hold a 32-byte key, and works without one only until asked to seal", () => {
    writeFileSync(join(dir, "short.key"), Buffer.alloc(16).toString("base64"));
    expect(() => new SecretBox(join(dir, "short.key")).seal("x", "c")).toThrow(/32-byte/);
    expect(() => new SecretBox(undefined).seal("x", "c")).toThrow(/no data key file/);
  });
});
