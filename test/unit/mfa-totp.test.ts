import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { User } from "../../control-plane/src/domain/user.js";
import { AppError } from "../../control-plane/src/errors.js";
import { totpUri } from "../../control-plane/src/services/mfa.js";
import { SecretBox } from "../../control-plane/src/services/secret-box.js";
import { oathtool, portalHarness, secretOf, type PortalHarness } from "../helpers/portal.js";

/**
 * TOTP enrollment and codes, checked against an independent implementation (oathtool), with time in
 * the test's hands: the secret the app gets, sealed storage, confirmation, and codes that work once.
 */

let h: PortalHarness;
let user: User;
const STEP = 30_000;

beforeEach(async () => {
  // 10 s into a 30-second step.
  h = portalHarness({}, "2030-01-01T00:00:10.000Z");
  user = await h.createUser({ username: "ada", email: "ada@example.com" });
});
afterEach(() => h.close());

const errorCode = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return `${error.status} ${error.code}`;
    throw error;
  }
  return "no error";
};

/** Enrolls `user` with a code from oathtool; returns the secret. */
async function enroll(who: User = user): Promise<string> {
  const secret = secretOf((await h.mfa.startTotp(h.ctx(), who)).uri);
  h.mfa.confirmTotp(h.ctx(), who.id, oathtool(secret, h.clock.now()));
  return secret;
}

describe("the otpauth:// URI", () => {
  it("spells out issuer, algorithm, digits and period, as authenticator apps read them", () => {
    expect(totpUri("ada", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")).toBe(
      "otpauth://totp/Tether:ada?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Tether&algorithm=SHA1&digits=6&period=30",
    );
  });
});

describe("enrollment", () => {
  it("returns a fresh 160-bit secret once, as a URI and QR codes, and stores it only sealed", async () => {
    const enrollment = await h.mfa.startTotp(h.ctx(), user);
    expect(enrollment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrollment.uri).toBe(totpUri("ada", enrollment.secret));
    const png = Buffer.from(enrollment.qrCodePng.replace(/^data:image\/png;base64,/, ""), "base64");
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(enrollment.qrCodeSvg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\s*$/);

    const stored = h.stores.mfa.get(user.id)!;
    expect(stored).toMatchObject({ confirmedAt: null, lastUsedStep: null });
    expect(stored.secretSealed).not.toContain(enrollment.secret);
    expect(new SecretBox(h.keyFile).open(stored.secretSealed, `totp:${user.id}`)).toBe(enrollment.secret);

    // Starting again replaces the secret: the first one's codes no longer confirm.
    const second = await h.mfa.startTotp(h.ctx(), user);
    expect(second.secret).not.toBe(enrollment.secret);
    expect(errorCode(() => h.mfa.confirmTotp(h.ctx(), user.id, oathtool(enrollment.secret, h.clock.now())))).toBe("400 mfa_code_invalid");
  });

  it("is confirmed by a code from oathtool, which makes the user enrolled (audited)", async () => {
    expect(errorCode(() => h.mfa.confirmTotp(h.ctx(), user.id, "123456"))).toBe("409 mfa_enrollment_not_started");
    const secret = secretOf((await h.mfa.startTotp(h.ctx(), user)).uri);
    const code = oathtool(secret, h.clock.now());
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    expect(errorCode(() => h.mfa.confirmTotp(h.ctx(), user.id, wrong))).toBe("400 mfa_code_invalid");
    expect(h.mfa.confirmTotp(h.ctx(), user.id, code).mfa.status).toBe("enrolled");
    expect(h.stores.users.get(user.id)!.mfa.status).toBe("enrolled");
    const actions = h.stores.events.list({ filters: [], sort: [], limit: 100, skip: 0 }).results.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.mfa-enrollment-started", "user.mfa-enrolled"]));

    // Enrolled: a new enrollment needs an admin's reset first.
    await expect(h.mfa.startTotp(h.ctx(), h.stores.users.get(user.id)!)).rejects.toMatchObject({ code: "mfa_already_enrolled" });
  });

  it("ends with an admin's reset: the secret is dropped and its codes stop working", async () => {
    const secret = await enroll();
    h.users.resetMfa(h.ctx(), user.id);
    expect(h.stores.mfa.get(user.id)).toBeUndefined();
    h.clock.advance(STEP);
    expect(h.mfa.checkCode(user.id, oathtool(secret, h.clock.now()), h.clock.now())).toBe("invalid");
    expect(h.stores.users.get(user.id)!.mfa.status).toBe("not_enrolled");
  });
});

describe("sign-in codes", () => {
  it("accepts oathtool's code once: the same code, or one of an earlier step, is a replay", async () => {
    const secret = await enroll();
    const now = () => h.clock.now();
    // The confirmation spent this step's code.
    expect(h.mfa.checkCode(user.id, oathtool(secret, now()), now())).toBe("reused");
    h.clock.advance(STEP);
    const code = oathtool(secret, now());
    expect(h.mfa.checkCode(user.id, code, now())).toBe("accepted");
    expect(h.mfa.checkCode(user.id, code, now())).toBe("reused");
    expect(h.mfa.checkCode(user.id, oathtool(secret, new Date(now().getTime() - STEP)), now())).toBe("reused");
    h.clock.advance(STEP);
    expect(h.mfa.checkCode(user.id, oathtool(secret, now()), now())).toBe("accepted");
  });

  it("accepts a code one step early or late (clock drift) and nothing further off, nor a wrong code", async () => {
    const secret = await enroll();
    h.clock.advance(10 * STEP);
    const at = (steps: number) => oathtool(secret, new Date(h.clock.now().getTime() + steps * STEP));
    expect(h.mfa.checkCode(user.id, at(2), h.clock.now())).toBe("invalid");
    expect(h.mfa.checkCode(user.id, at(-2), h.clock.now())).toBe("invalid");
    expect(h.mfa.checkCode(user.id, at(-1), h.clock.now())).toBe("accepted");
    expect(h.mfa.checkCode(user.id, at(1), h.clock.now())).toBe("accepted");
    h.clock.advance(10 * STEP);
    const code = at(0);
    expect(h.mfa.checkCode(user.id, String((Number(code) + 500_000) % 1_000_000).padStart(6, "0"), h.clock.now())).toBe("invalid");
    expect(h.mfa.checkCode(user.id, code, h.clock.now())).toBe("accepted");
  });

  it("are not checked for a user who has not confirmed an enrollment", async () => {
    const secret = secretOf((await h.mfa.startTotp(h.ctx(), user)).uri);
    expect(h.mfa.checkCode(user.id, oathtool(secret, h.clock.now()), h.clock.now())).toBe("invalid");
  });
});
