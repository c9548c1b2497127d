import { generateSecret, verifySync } from "otplib";
import { toDataURL, toString as toQrString } from "qrcode";
import type { RequestContext } from "../domain/actor.js";
import { TOTP, type TotpEnrollment } from "../domain/portal.js";
import { mfaStatusAt, type User } from "../domain/user.js";
import { AppError, NotFoundError } from "../errors.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import type { SecretBox } from "./secret-box.js";
import type { MfaResetListener } from "./users.js";

/** A sign-in code: accepted (and spent), wrong, or right but already spent. */
export type CodeCheck = "accepted" | "invalid" | "reused";

/** Codes of one time step either side of now are accepted: phone clocks drift, and typing takes time. */
const TOLERANCE_STEPS = 1;

/** The otpauth:// URI authenticator apps read (Google's Key Uri Format), every parameter spelt out. */
export function totpUri(username: string, secret: string): string {
  const params = new URLSearchParams({
    secret,
    issuer: TOTP.issuer,
    algorithm: TOTP.algorithm,
    digits: String(TOTP.digits),
    period: String(TOTP.periodSeconds),
  });
  return `otpauth://totp/${encodeURIComponent(TOTP.issuer)}:${encodeURIComponent(username)}?${params}`;
}

/**
 * TOTP MFA (RFC 6238 through otplib): enrollment, codes, and the MFA status's one time-driven move,
 * `pending` → `enrollment_expired`. Secrets are sealed by the secret box; they are opened only to
 * check a code, and every check is audited by its caller (sign-in) or here (enrollment).
 */
export class MfaService implements MfaResetListener {
  constructor(
    private readonly stores: Stores,
    private readonly box: SecretBox,
  ) {}

  /** Starts (or restarts) an enrollment: a new secret, shown this once as a URI and QR codes. */
  async startTotp(ctx: RequestContext, user: User): Promise<TotpEnrollment> {
    refuseIfEnrolled(user);
    const secret = generateSecret();
    const uri = totpUri(user.username, secret);
    const [qrCodePng, qrCodeSvg] = await Promise.all([toDataURL(uri), toQrString(uri, { type: "svg" })]);
    this.stores.transaction(() => {
      // Checked again: the user may have confirmed another enrollment while the QR codes were drawn.
      refuseIfEnrolled(this.user(user.id));
      this.stores.mfa.start(user.id, this.box.seal(secret, sealContext(user.id)), ctx.now.toISOString());
      audit(this.stores.events, ctx, { action: "user.mfa-enrollment-started", objectType: "user", objectId: user.id, details: { username: user.username, method: "totp" } });
    });
    return { secret, uri, qrCodePng, qrCodeSvg };
  }

  /** Completes the enrollment with a code from the app (which is spent): the user is `enrolled`. */
  confirmTotp(ctx: RequestContext, userId: string, code: string): User {
    return this.stores.transaction(() => {
      const user = this.user(userId);
      refuseIfEnrolled(user);
      const record = this.stores.mfa.get(userId);
      if (!record) throw new AppError(409, "mfa_enrollment_not_started", "start the enrollment first (POST /portal/v1/mfa/totp), then confirm it with a code from your app");
      const step = this.matchingStep(userId, record.secretSealed, code, ctx.now);
      if (step === null) {
        throw new AppError(400, "mfa_code_invalid", "that code does not match: check that your device's clock is right and enter the code your app shows now");
      }
      const now = ctx.now.toISOString();
      this.stores.mfa.confirm(userId, step, now);
      this.stores.users.update(userId, { mfaStatus: "enrolled" }, now);
      audit(this.stores.events, ctx, { action: "user.mfa-enrolled", objectType: "user", objectId: userId, details: { username: user.username, method: "totp" } });
      return this.user(userId);
    });
  }

  /** Checks an enrolled user's sign-in code; an accepted code's time step is spent. Call inside the sign-in's transaction. */
  checkCode(userId: string, code: string, now: Date): CodeCheck {
    const record = this.stores.mfa.get(userId);
    if (!record?.confirmedAt) return "invalid";
    const step = this.matchingStep(userId, record.secretSealed, code, now);
    if (step === null) return "invalid";
    return this.stores.mfa.useStep(userId, step) ? "accepted" : "reused";
  }

  /** The user as of `ctx.now`: a pending enrollment whose window has closed becomes `enrollment_expired` (written and audited). */
  expireIfDue(ctx: RequestContext, user: User): User {
    if (user.mfa.status !== "pending" || mfaStatusAt(user.mfa, false, ctx.now) !== "enrollment_expired") return user;
    this.stores.users.update(user.id, { mfaStatus: "enrollment_expired" }, ctx.now.toISOString());
    audit(this.stores.events, ctx, {
      action: "user.mfa-enrollment-expired",
      objectType: "user",
      objectId: user.id,
      details: { username: user.username, deadline: user.mfa.enrollmentDeadline },
    });
    return this.user(user.id);
  }

  /** Ends every enrollment window that has closed; returns how many. */
  expireEnrollments(ctx: RequestContext): number {
    return this.stores.transaction(() => {
      const due = this.stores.users.mfaEnrollmentsPastDeadline(ctx.now.toISOString());
      for (const id of due) this.expireIfDue(ctx, this.user(id));
      return due.length;
    });
  }

  /** An admin reset MFA (users service, same transaction): the secret goes. */
  mfaReset(userId: string): void {
    this.stores.mfa.delete(userId);
  }

  private matchingStep(userId: string, sealed: string, code: string, now: Date): number | null {
    const result = verifySync({
      secret: this.box.open(sealed, sealContext(userId)),
      token: code,
      algorithm: "sha1",
      digits: TOTP.digits,
      period: TOTP.periodSeconds,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: TOLERANCE_STEPS * TOTP.periodSeconds,
    });
    // The result type also covers HOTP, whose matches have no time step.
    return result.valid && "timeStep" in result ? result.timeStep : null;
  }

  private user(id: string): User {
    const user = this.stores.users.get(id);
    if (!user) throw new NotFoundError("user", id);
    return user;
  }
}

/** What a sealed TOTP secret is bound to: it opens only as this user's. */
function sealContext(userId: string): string {
  return `totp:${userId}`;
}

function refuseIfEnrolled(user: User): void {
  if (user.mfa.status === "enrolled") {
    throw new AppError(409, "mfa_already_enrolled", "MFA is already set up for this account; to move it to a new device, ask your administrator to reset your MFA");
  }
}
