import { systemContext, type RequestContext } from "../domain/actor.js";
import {
  PORTAL_TOKEN_PREFIX,
  PortalProfileSchema,
  type PortalLogin,
  type PortalMfa,
  type PortalProfile,
  type PortalSession,
  type PortalSessionScope,
  type TotpEnrollment,
} from "../domain/portal.js";
import { mfaStatusAt, type User } from "../domain/user.js";
import { AppError, ForbiddenError, TooManyRequestsError, UnauthorizedError, ValidationError } from "../errors.js";
import { newSecret } from "../ids.js";
import type { PortalConfig } from "../portal-config.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import type { Clock } from "./clock.js";
import { hashSecret } from "./hashing.js";
import type { MfaService } from "./mfa.js";
import { scryptHash, verifyPassword } from "./password-hashing.js";
import { checkPasswordPolicy } from "./password-policy.js";
import { RateLimiter } from "./rate-limiter.js";
import type { UserService } from "./users.js";

export interface PortalAuthDeps {
  config: PortalConfig;
  /** The users directory's password policy (TETHER_PASSWORD_MIN_LENGTH). */
  passwordMinLength: number;
  clock: Clock;
}

/** A signed-in portal user, for one request: `ctx` names the user as the actor. */
export interface PortalCaller {
  ctx: RequestContext;
  user: User;
  tokenHash: string;
  scope: PortalSessionScope;
}

/** A sign-in's end inside its transaction: refusals are returned, not thrown, so their audit and failure count commit. */
type Outcome = { session: PortalSession } | { error: AppError };

const invalidCredentials = () => new AppError(401, "invalid_credentials", "wrong username, email or password");
const accountLocked = (now: boolean) =>
  new AppError(
    403,
    "account_locked",
    `${now ? "too many failed sign-ins: this account is now locked" : "this account is locked after too many failed sign-ins"}; ask your administrator to unlock it`,
  );

/**
 * The user portal's sign-in and sessions. A sign-in checks, in order: the per-account rate limit
 * (the per-address one is the HTTP layer's), the password (unknown names cost the same scrypt, so
 * timing does not tell which exist), the account's standing, the MFA enrollment window and, once
 * enrolled, a TOTP code that works once. Wrong passwords and codes count towards the lock-out; every
 * failure, lock-out and session is audited. Sessions are bearer tokens of which only a hash is kept.
 */
export class PortalAuthService {
  /** Sign-in attempts per client address, applied by the HTTP layer before the request reaches login(). */
  readonly addressLimiter: RateLimiter;
  private readonly accountLimiter: RateLimiter;
  /** A hash no password matches, checked for unknown names. */
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly users: UserService,
    private readonly mfa: MfaService,
    private readonly deps: PortalAuthDeps,
  ) {
    const now = () => deps.clock.now().getTime();
    this.addressLimiter = new RateLimiter(deps.config.loginRatePerAddress, now);
    this.accountLimiter = new RateLimiter(deps.config.loginRatePerAccount, now);
  }

  async login(ctx: RequestContext, input: PortalLogin): Promise<PortalSession> {
    const found = this.stores.users.findByLogin(input.login);
    this.throttle(found?.id ?? `login:${input.login.toLowerCase()}`);
    const stored = found ? this.stores.users.passwordHashes(found.id)?.hash : undefined;
    const passwordOk = await verifyPassword(input.password, stored ?? (await this.decoy()));
    const outcome = this.stores.transaction(() => this.signIn(ctx, input, found?.id, passwordOk));
    if ("error" in outcome) throw outcome.error;
    return outcome.session;
  }

  /**
   * The session of a bearer token, for one request. `need: "full"` refuses a session that must first
   * change an expired password. The account's standing is checked on every request, so suspending,
   * locking or an enrollment window closing ends its sessions at once.
   */
  authenticate(token: string | undefined, ctx: RequestContext, need: PortalSessionScope): PortalCaller {
    if (!token) throw new UnauthorizedError("sign in first, and send the session token as Authorization: Bearer tps_…", "portal_session_required");
    const tokenHash = hashSecret(token);
    const session = this.stores.portalSessions.get(tokenHash);
    if (!session || session.expiresAt <= ctx.now.toISOString()) {
      throw new UnauthorizedError("this portal session has ended (it expired, or you signed out): sign in again", "portal_session_invalid");
    }
    const user = this.stores.users.get(session.userId)!;
    const windowClosed = mfaStatusAt(user.mfa, user.mfa.status === "enrolled", ctx.now) === "enrollment_expired";
    const refusal = standing(user) ?? (windowClosed ? enrollmentExpired(user) : undefined);
    if (refusal) throw refusal;
    if (session.scope === "password-change" && need === "full") {
      throw new ForbiddenError("your password has expired: change it first (POST /portal/v1/password)", "password_change_required");
    }
    return { ctx: { ...ctx, actor: { type: "user", id: user.id, name: user.username } }, user, tokenHash, scope: session.scope };
  }

  logout(caller: PortalCaller): void {
    this.stores.transaction(() => {
      this.stores.portalSessions.delete(caller.tokenHash);
      audit(this.stores.events, caller.ctx, { action: "portal.logout", objectType: "user", objectId: caller.user.id, details: { username: caller.user.username } });
    });
  }

  profile(caller: PortalCaller): PortalProfile {
    return PortalProfileSchema.parse(caller.user);
  }

  /**
   * The user changes their own password: the current one is checked (a wrong one counts towards the
   * lock-out, so a stolen session cannot guess it), the users service re-hashes both hashes, the
   * user's other sessions end, and this one is no longer limited to changing the password.
   */
  async changePassword(caller: PortalCaller, currentPassword: string, newPassword: string): Promise<void> {
    const { user, ctx } = caller;
    this.throttle(user.id);
    checkPasswordPolicy(newPassword, user.username, this.deps.passwordMinLength, "newPassword");
    const stored = this.stores.users.passwordHashes(user.id)?.hash ?? (await this.decoy());
    const [currentOk, unchanged] = await Promise.all([verifyPassword(currentPassword, stored), verifyPassword(newPassword, stored)]);
    if (!currentOk) {
      const wrong = new AppError(403, "current_password_invalid", "currentPassword: that is not your current password");
      throw this.stores.transaction(() => this.fail(ctx, user, "wrong current password", wrong));
    }
    if (unchanged) throw ValidationError.field("newPassword", "must differ from the current password");
    await this.users.update(ctx, user.id, { password: newPassword });
    this.stores.transaction(() => {
      const ended = this.stores.portalSessions.deleteForUser(user.id, caller.tokenHash);
      this.stores.portalSessions.setScope(caller.tokenHash, "full");
      audit(this.stores.events, ctx, { action: "portal.password-changed", objectType: "user", objectId: user.id, details: { username: user.username, otherSessionsEnded: ended } });
    });
  }

  startTotp(caller: PortalCaller): Promise<TotpEnrollment> {
    return this.mfa.startTotp(caller.ctx, caller.user);
  }

  confirmTotp(caller: PortalCaller, code: string): PortalMfa {
    return portalMfa(this.mfa.confirmTotp(caller.ctx, caller.user.id, code));
  }

  /** Housekeeping on a timer: closes enrollment windows that have passed and drops expired sessions. */
  sweep(): void {
    const ctx = systemContext(this.deps.clock.now());
    this.mfa.expireEnrollments(ctx);
    this.stores.portalSessions.deleteExpired(ctx.now.toISOString());
  }

  private signIn(ctx: RequestContext, input: PortalLogin, userId: string | undefined, passwordOk: boolean): Outcome {
    const user = userId === undefined ? undefined : this.stores.users.get(userId);
    if (!user) {
      audit(this.stores.events, ctx, { action: "portal.login-failed", objectType: "user", objectId: null, details: { login: input.login, reason: "unknown login" } });
      return { error: invalidCredentials() };
    }
    // A locked account is refused whatever the password: it no longer tells a right guess from a wrong one.
    if (user.accountLocked) return this.refuse(ctx, user, "account locked", accountLocked(false));
    if (!user.hasPassword) {
      return this.refuse(ctx, user, "no password", new AppError(403, "password_not_set", "this account has no password yet: use the activation link from your administrator"));
    }
    if (!passwordOk) return { error: this.fail(ctx, user, "wrong password", invalidCredentials()) };
    const refusal = standing(user);
    if (refusal) return this.refuse(ctx, user, refusal.code, refusal);
    const current = this.mfa.expireIfDue(ctx, user);
    if (current.mfa.status === "enrollment_expired") return this.refuse(ctx, user, "MFA enrollment expired", enrollmentExpired(current));
    if (current.mfa.status === "enrolled") {
      if (input.code === undefined) {
        return { error: new AppError(401, "mfa_code_required", "enter the 6-digit code from your authenticator app (send it as code)") };
      }
      const check = this.mfa.checkCode(user.id, input.code, ctx.now);
      if (check === "invalid") return { error: this.fail(ctx, user, "wrong MFA code", new AppError(401, "mfa_code_invalid", "that code does not match: enter the code your app shows now")) };
      if (check === "reused") {
        return { error: this.fail(ctx, user, "MFA code reused", new AppError(401, "mfa_code_reused", "that code was already used: wait for your app to show the next one")) };
      }
    }
    return { session: this.open(ctx, current) };
  }

  private open(ctx: RequestContext, user: User): PortalSession {
    const token = `${PORTAL_TOKEN_PREFIX}${newSecret()}`;
    const expiresAt = new Date(ctx.now.getTime() + this.deps.config.sessionTtlSeconds * 1000).toISOString();
    const passwordChangeRequired = user.passwordExpiresAt !== null && Date.parse(user.passwordExpiresAt) <= ctx.now.getTime();
    this.stores.portalSessions.insert({
      tokenHash: hashSecret(token),
      userId: user.id,
      scope: passwordChangeRequired ? "password-change" : "full",
      createdAt: ctx.now.toISOString(),
      expiresAt,
      remoteAddr: ctx.remoteAddr,
    });
    this.stores.portalLoginFailures.clear(user.id);
    audit(this.stores.events, { ...ctx, actor: { type: "user", id: user.id, name: user.username } }, {
      action: "portal.login",
      objectType: "user",
      objectId: user.id,
      details: { username: user.username, mfa: user.mfa.status === "enrolled" ? "totp" : "none", passwordChangeRequired },
    });
    return { token, expiresAt, passwordChangeRequired, mfa: portalMfa(user) };
  }

  /** A failure that counts (wrong password or code): audited, and the lock-out once there are enough in a row. */
  private fail(ctx: RequestContext, user: User, reason: string, error: AppError): AppError {
    const failures = this.stores.portalLoginFailures.add(user.id, ctx.now.toISOString());
    audit(this.stores.events, ctx, { action: "portal.login-failed", objectType: "user", objectId: user.id, details: { username: user.username, reason, failures } });
    if (failures < this.deps.config.lockoutThreshold) return error;
    this.users.lock(ctx, user.id);
    this.stores.portalLoginFailures.clear(user.id);
    return accountLocked(true);
  }

  /** A refusal that does not count towards the lock-out (the account's standing), audited. */
  private refuse(ctx: RequestContext, user: User, reason: string, error: AppError): Outcome {
    audit(this.stores.events, ctx, { action: "portal.login-failed", objectType: "user", objectId: user.id, details: { username: user.username, reason } });
    return { error };
  }

  private throttle(key: string): void {
    const wait = this.accountLimiter.take(key);
    if (wait > 0) throw new TooManyRequestsError(`too many sign-in attempts for this account: try again in ${wait} s`, wait);
  }

  private decoy(): Promise<string> {
    this.decoyHash ??= scryptHash(newSecret());
    return this.decoyHash;
  }
}

/** Why an account may not use the portal now, if it may not (locked and suspended; staged users have no password). */
function standing(user: User): AppError | undefined {
  if (user.state === "suspended") return new AppError(403, "account_suspended", "this account is suspended; ask your administrator");
  if (user.accountLocked) return accountLocked(false);
  if (user.state === "staged") return new AppError(403, "account_not_activated", "this account is not activated yet: use the activation link from your administrator");
  return undefined;
}

function enrollmentExpired(user: User): AppError {
  return new AppError(
    403,
    "mfa_enrollment_expired",
    `MFA had to be set up by ${user.mfa.enrollmentDeadline} and was not, so the portal is locked for this account; ask your administrator to reset your MFA, which opens a new enrollment window`,
  );
}

function portalMfa(user: User): PortalMfa {
  const pending = user.mfa.status === "pending";
  return { status: user.mfa.status, enrollmentRequired: pending, deadline: pending ? user.mfa.enrollmentDeadline : null };
}
