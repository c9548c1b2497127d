import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateUserSchema } from "../../control-plane/src/domain/user.js";
import { ValidationError } from "../../control-plane/src/errors.js";
import { hashPassword, scryptHash, sha512Crypt, verifyPassword } from "../../control-plane/src/services/password-hashing.js";
import { checkPasswordPolicy, passwordProblems } from "../../control-plane/src/services/password-policy.js";
import { loadUserConfig } from "../../control-plane/src/user-config.js";
import { isLocalUsername, usernameProblem } from "../../shared/src/names.js";
import { parseSshPublicKey } from "../../shared/src/ssh-public-key.js";

describe("the username rule", () => {
  it.each(["ada", "ada.lovelace", "a", "j-smith_2", "x".repeat(20), "dev1", "a-", "a_b.c-d"])("accepts %j", (name) => {
    expect(usernameProblem(name)).toBeUndefined();
  });

  it.each([
    ["Ada", "upper case: Windows and macOS compare without case, Linux does not"],
    ["x".repeat(21), "longer than Windows' 20"],
    ["1ada", "starts with a digit"],
    ["1000", "all digits (read as a uid)"],
    ["-rf", "starts with - (read as an option)"],
    ["_www", "starts with _ (macOS system accounts)"],
    [".ada", "starts with ."],
    ["ada.", "ends with . (Windows drops it)"],
    ["ada lovelace", "a space"],
    ["ada@corp", "@ (Windows UPN separator)"],
    ["a/b", "a slash"],
    ["domain\\ada", "a backslash"],
    ["björn", "a non-ASCII letter"],
    ["ada$", "a $ (Samba machine accounts)"],
    ["", "empty"],
  ])("refuses %j (%s)", (name) => {
    expect(isLocalUsername(name)).toBe(false);
    expect(usernameProblem(name)).toMatch(/^must be 1–20 characters: a lower-case letter/);
  });

  it.each(["root", "admin", "administrator", "daemon", "bin", "sys", "nobody", "guest", "wheel", "www-data", "defaultaccount", "sshd", "system"])(
    "refuses the reserved name %j",
    (name) => {
      expect(isLocalUsername(name)).toBe(true);
      expect(usernameProblem(name)).toBe(`"${name}" is reserved for a system account`);
    },
  );
});

describe("SSH public keys", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tether-ssh-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A key made by the real ssh-keygen, with the fingerprint it prints. */
  function keygen(type: string, bits?: number): { line: string; fingerprint: string } {
    const path = join(dir, `${type}-${bits ?? 0}-${randomBytes(3).toString("hex")}`);
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", `test ${type}`, "-f", path]);
    return { line: readFileSync(`${path}.pub`, "utf8"), fingerprint: fingerprintOf(`${path}.pub`) };
  }

  function fingerprintOf(pubFile: string): string {
    return execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pubFile], { encoding: "utf8" }).split(" ")[1]!;
  }

  /** SSH wire format: each field a uint32 length and its bytes. */
  function wire(...fields: (string | Buffer)[]): string {
    return Buffer.concat(
      fields.map((field) => {
        const bytes = typeof field === "string" ? Buffer.from(field) : field;
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return Buffer.concat([length, bytes]);
      }),
    ).toString("base64");
  }

  const ed25519Raw = () => Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!, "base64url");
  function p256Point(): Buffer {
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
    return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  }

  it.each([
    ["ed25519", undefined, 256],
    ["ecdsa", 256, 256],
    ["ecdsa", 384, 384],
    ["ecdsa", 521, 521],
    ["rsa", 2048, 2048],
    ["rsa", 3072, 3072],
  ])("accepts a %s key (%s bits) made by ssh-keygen, with ssh-keygen's fingerprint", (type, bits, expectedBits) => {
    const key = keygen(type, bits);
    const parsed = parseSshPublicKey(key.line);
    expect(parsed.bits).toBe(expectedBits);
    expect(parsed.fingerprint).toBe(key.fingerprint);
    expect(parsed.line).toBe(key.line.trim());
  });

  it("accepts security-key (sk-) ed25519 and ecdsa keys, fingerprinted as ssh-keygen does", () => {
    for (const [type, blob] of [
      ["sk-ssh-ed25519@openssh.com", wire("sk-ssh-ed25519@openssh.com", ed25519Raw(), "ssh:")],
      ["sk-ecdsa-sha2-nistp256@openssh.com", wire("sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", p256Point(), "ssh:")],
    ]) {
      const line = `${type} ${blob} yubikey`;
      const file = join(dir, `${type}.pub`);
      writeFileSync(file, `${line}\n`);
      expect(parseSshPublicKey(line)).toMatchObject({ type, fingerprint: fingerprintOf(file), line });
    }
  });

  it("refuses a 1024-bit RSA key from ssh-keygen", () => {
    expect(() => parseSshPublicKey(keygen("rsa", 1024).line)).toThrow("is a 1024-bit RSA key; RSA keys need at least 2048 bits");
  });

  it.each<[string, () => string, string | RegExp]>([
    ["a type that does not match the key data", () => `ssh-rsa ${wire("ssh-ed25519", ed25519Raw())}`, 'says "ssh-rsa" but its key data is of type "ssh-ed25519"'],
    ["a key cut short", () => `ssh-ed25519 ${wire("ssh-ed25519", ed25519Raw()).slice(0, 40)}`, /no valid base64|ends/],
    ["extra bytes after the key", () => `ssh-ed25519 ${wire("ssh-ed25519", ed25519Raw(), "x")}`, "has extra bytes after the key"],
    ["an Ed25519 key of the wrong size", () => `ssh-ed25519 ${wire("ssh-ed25519", randomBytes(31))}`, "of 31 bytes instead of 32"],
    ["an EC point off the curve", () => `ecdsa-sha2-nistp256 ${wire("ecdsa-sha2-nistp256", "nistp256", Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]))}`, /not a valid EC public key/],
    ["a curve that differs from the type", () => `ecdsa-sha2-nistp384 ${wire("ecdsa-sha2-nistp384", "nistp256", p256Point())}`, 'names curve "nistp256"'],
    ["a DSA key", () => `ssh-dss ${wire("ssh-dss", randomBytes(128), randomBytes(20), randomBytes(128), randomBytes(128))}`, /DSA key/],
    ["a certificate", () => `ssh-ed25519-cert-v01@openssh.com ${wire("ssh-ed25519-cert-v01@openssh.com", randomBytes(32))}`, "is an SSH certificate"],
    ["an unknown type", () => `ssh-foo ${wire("ssh-foo", randomBytes(32))}`, 'unsupported key type "ssh-foo"'],
    ["an sk-ecdsa key on P-384", () => `sk-ecdsa-sha2-nistp384@openssh.com ${wire("sk-ecdsa-sha2-nistp384@openssh.com", "nistp384", randomBytes(97), "ssh:")}`, /unsupported key type/],
    ["a security key for another application", () => `sk-ssh-ed25519@openssh.com ${wire("sk-ssh-ed25519@openssh.com", ed25519Raw(), "web:")}`, 'application "web:"'],
    ["authorized_keys options", () => `no-pty ssh-ed25519 ${wire("ssh-ed25519", ed25519Raw())}`, "authorized_keys options are not accepted"],
    ["quoted options", () => `from="10.0.0.1" ssh-ed25519 ${wire("ssh-ed25519", ed25519Raw())}`, "authorized_keys options are not accepted"],
    ["two keys", () => `ssh-ed25519 ${wire("ssh-ed25519", ed25519Raw())}\nssh-ed25519 ${wire("ssh-ed25519", ed25519Raw())}`, "holds more than one line"],
    ["no key data", () => "ssh-ed25519", "has no valid base64 key data"],
    ["an empty string", () => "", /must start with the key type/],
    ["a private key", () => "-----BEGIN OPENSSH PRIVATE KEY-----", /must start with the key type/],
  ])("refuses %s", (_name, make, message) => {
    expect(() => parseSshPublicKey(make())).toThrow(message);
  });

  it("refuses the same key twice in a user, whatever the names and comments, and the same name twice", () => {
    const key = `ssh-ed25519 ${wire("ssh-ed25519", ed25519Raw())}`;
    const other = `ssh-ed25519 ${wire("ssh-ed25519", ed25519Raw())}`;
    const base = { username: "ada", email: "ada@example.com" };
    const twice = CreateUserSchema.safeParse({ ...base, sshKeys: [{ name: "a", publicKey: `${key} one` }, { name: "b", publicKey: `${key} two` }] });
    expect(twice.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["sshKeys.1", expect.stringMatching(/^the key "SHA256:.+" appears twice$/)]]);
    const sameName = CreateUserSchema.safeParse({ ...base, sshKeys: [{ name: "Laptop", publicKey: key }, { name: "laptop", publicKey: other }] });
    expect(sameName.error?.issues.map((i) => i.message)).toEqual(['the key name "laptop" appears twice']);
    const fine = CreateUserSchema.parse({ ...base, sshKeys: [{ name: "a", publicKey: `  ${key}   my\tlaptop ` }, { name: "b", publicKey: other }] });
    expect(fine.sshKeys[0]).toEqual({ name: "a", publicKey: `${key} my laptop`, fingerprint: expect.stringMatching(/^SHA256:/) });
  });
});

describe("the password policy", () => {
  it("accepts a long password unrelated to the username", () => {
    expect(passwordProblems("correct horse battery staple", "ada", 12)).toEqual([]);
    expect(passwordProblems("ünïcödé-pässwörd", "ada", 12)).toEqual([]);
  });

  it("lists every problem, counting characters rather than bytes", () => {
    expect(passwordProblems("ada", "ada", 12)).toEqual(["must be at least 12 characters long (it has 3)", "must not be the username"]);
    expect(passwordProblems("my-ADA-password-2024", "ada", 12)).toEqual(["must not contain the username"]);
    expect(passwordProblems("ééééééééééé", "bob", 12)).toEqual(["must be at least 12 characters long (it has 11)"]);
    expect(passwordProblems("tab\tinside the password", "bob", 12)).toEqual(["must not contain control characters (tabs, line breaks, …)"]);
    expect(passwordProblems("x".repeat(257), "bob", 12)).toEqual(["must be at most 256 characters long"]);
  });

  it("throws a 400 that names the field and says what to fix", () => {
    const error = (() => {
      try {
        checkPasswordPolicy("short", "ada", 12);
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.message).toBe("password: must be at least 12 characters long (it has 5)");
    expect(error.details).toEqual([{ field: "password", reason: "must be at least 12 characters long (it has 5)" }]);
  });

  it("takes its minimum length from TETHER_PASSWORD_MIN_LENGTH", () => {
    expect(loadUserConfig({}).passwordMinLength).toBe(12);
    expect(loadUserConfig({ TETHER_PASSWORD_MIN_LENGTH: "16" }).passwordMinLength).toBe(16);
    expect(() => loadUserConfig({ TETHER_PASSWORD_MIN_LENGTH: "4" })).toThrow("TETHER_PASSWORD_MIN_LENGTH");
    expect(() => loadUserConfig({ TETHER_PASSWORD_MIN_LENGTH: "twelve" })).toThrow("TETHER_PASSWORD_MIN_LENGTH");
    expect(loadUserConfig({ TETHER_ACTIVATION_TTL: "2s" }).activationTtlSeconds).toBe(2);
    expect(loadUserConfig({}).activationTtlSeconds).toBe(72 * 3600);
    expect(() => loadUserConfig({ TETHER_SMTP_URL: "mail.example.com" })).toThrow("TETHER_SMTP_URL");
  });
});

describe("password hashes", () => {
  const CASES: [password: string, salt: string][] = [
    ["correct horse battery staple", "saltsalt"],
    ["ünïcödé pässwörd ✓ 🔑", "abcdefghijklmnop"],
    ["x".repeat(200), "./09AZaz"],
    [`quotes ' " $ \\ and spaces`, "Q"],
  ];

  /** Python's crypt module: glibc's crypt(3), an implementation independent of ours. */
  function pythonCrypt(pairs: [string, string][]): string[] {
    const script = "import crypt, json, sys\nprint(json.dumps([crypt.crypt(p, s) for p, s in json.load(sys.stdin)]))";
    return JSON.parse(execFileSync("python3", ["-W", "ignore", "-c", script], { input: JSON.stringify(pairs), encoding: "utf8" })) as string[];
  }

  it.each(CASES)("SHA-512-crypt of %j with salt %j matches openssl passwd -6", (password, salt) => {
    const ours = sha512Crypt(password, salt);
    const openssl = execFileSync("openssl", ["passwd", "-6", "-salt", salt, password], { encoding: "utf8" }).trim();
    // openssl leaves out rounds=5000, the default, which ours writes out.
    expect(ours).toBe(openssl.replace(/^\$6\$/, "$6$rounds=5000$"));
  });

  it("SHA-512-crypt matches Python's crypt (glibc), at the default and other round counts", () => {
    const pairs = CASES.flatMap(([password, salt]): [string, string][] => [
      [password, `$6$rounds=5000$${salt}`],
      [password, `$6$rounds=12345$${salt}`],
    ]);
    expect(pairs.map(([password, setting]) => sha512Crypt(password, setting.split("$")[3]!, Number(setting.split("$")[2]!.slice(7))))).toEqual(pythonCrypt(pairs));
  });

  it("hashPassword makes a $6$ hash that crypt(3) verifies and an scrypt hash that verifyPassword checks", async () => {
    const password = "correct horse battery staple";
    const { hash, crypt } = await hashPassword(password);
    expect(crypt).toMatch(/^\$6\$rounds=5000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(pythonCrypt([[password, crypt], ["wrong password!!", crypt]])).toEqual([crypt, expect.not.stringMatching(crypt.replace(/\$/g, "\\$"))]);
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword(password, hash)).toBe(true);
    expect(await verifyPassword("correct horse battery stapler", hash)).toBe(false);
    expect(await verifyPassword(password, crypt)).toBe(false);
    // A new salt every time.
    expect((await hashPassword(password)).hash).not.toBe(hash);
  });

  it("scrypt hashes are RFC 7914's scrypt with the parameters they name", async () => {
    const salt = Buffer.from("NaCl");
    const hash = await scryptHash("password", salt);
    const [, n, r, p, saltText] = hash.split("$");
    expect([n, r, p, Buffer.from(saltText!, "base64url").toString()]).toEqual(["32768", "8", "1", "NaCl"]);
    // The same derivation by Python's hashlib (OpenSSL's EVP_PBE_scrypt), independently.
    const script = "import hashlib, base64\nprint(base64.urlsafe_b64encode(hashlib.scrypt(b'password', salt=b'NaCl', n=32768, r=8, p=1, maxmem=2**26, dklen=32)).decode().rstrip('='))";
    expect(hash.split("$")[5]).toBe(execFileSync("python3", ["-c", script], { encoding: "utf8" }).trim());
  });
});
