import type { Request, Response } from "express";
import type { RequestContext } from "../../domain/actor.js";
import {
  ChangePasswordSchema,
  PortalLoginSchema,
  PortalMfaSchema,
  PortalProfileSchema,
  PortalSessionSchema,
  TotpCodeSchema,
  TotpEnrollmentSchema,
  type PortalSessionScope,
} from "../../domain/portal.js";
import type { Services } from "../../services/index.js";
import { route } from "../route.js";

const SESSION = "portal session (Authorization: Bearer tps_…)";

/** The portal session token of `Authorization: Bearer tps_…`. */
function bearer(req: Request): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.header("authorization") ?? "")?.[1];
}

/** Replies that carry a secret (a session token, a TOTP secret) must not be kept by any cache. */
function noStore<T>(res: Response, body: T): T {
  res.set("Cache-Control", "no-store");
  return body;
}

/**
 * The user portal's API. To the API-key scheme these routes are public: users sign in with their
 * password (and TOTP code) and then carry a portal session token. The per-address rate limit on
 * login is mounted in app.ts, ahead of these handlers.
 */
export function portalRoutes(s: Services) {
  const caller = (req: Request, ctx: RequestContext, need: PortalSessionScope = "full") => s.portalAuth.authenticate(bearer(req), ctx, need);
  return [
    route({
      method: "post",
      path: "/portal/v1/login",
      summary:
        "Sign in to the user portal with username or email, password and (once enrolled) a TOTP code → a session token; 401 invalid_credentials | mfa_code_required | mfa_code_invalid | mfa_code_reused, 403 account_locked | account_suspended | account_not_activated | password_not_set | mfa_enrollment_expired, 429 with Retry-After",
      tag: "portal",
      access: "public",
      body: PortalLoginSchema,
      response: PortalSessionSchema,
      handle: async ({ body, ctx, res }) => noStore(res, await s.portalAuth.login(ctx, body)),
    }),
    route({
      method: "post",
      path: "/portal/v1/logout",
      summary: `End the ${SESSION}`,
      tag: "portal",
      access: "public",
      handle: ({ req, ctx }) => s.portalAuth.logout(caller(req, ctx, "password-change")),
    }),
    route({
      method: "get",
      path: "/portal/v1/me",
      summary: `The signed-in user's own profile (${SESSION})`,
      tag: "portal",
      access: "public",
      response: PortalProfileSchema,
      handle: ({ req, ctx }) => s.portalAuth.profile(caller(req, ctx, "password-change")),
    }),
    route({
      method: "post",
      path: "/portal/v1/password",
      summary: `Change your password (${SESSION}): both hashes are remade and your other sessions end; 403 current_password_invalid`,
      tag: "portal",
      access: "public",
      body: ChangePasswordSchema,
      handle: ({ req, ctx, body }) => s.portalAuth.changePassword(caller(req, ctx, "password-change"), body.currentPassword, body.newPassword),
    }),
    route({
      method: "post",
      path: "/portal/v1/mfa/totp",
      summary: `Start TOTP enrollment (${SESSION}): a new secret, shown once as an otpauth:// URI and QR codes; 409 mfa_already_enrolled`,
      tag: "portal",
      access: "public",
      response: TotpEnrollmentSchema,
      status: 201,
      handle: async ({ req, ctx, res }) => noStore(res, await s.portalAuth.startTotp(caller(req, ctx))),
    }),
    route({
      method: "post",
      path: "/portal/v1/mfa/totp/confirm",
      summary: `Confirm TOTP enrollment with a code from the app (${SESSION}): MFA becomes enrolled; 400 mfa_code_invalid`,
      tag: "portal",
      access: "public",
      body: TotpCodeSchema,
      response: PortalMfaSchema,
      handle: ({ req, ctx, body }) => s.portalAuth.confirmTotp(caller(req, ctx), body.code),
    }),
  ];
}
