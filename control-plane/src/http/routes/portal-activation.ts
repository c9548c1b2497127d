import { ActivatedSchema, RedeemActivationSchema } from "../../domain/user.js";
import type { Services } from "../../services/index.js";
import { route } from "../route.js";

/** The user portal's activation step: public, since the one-time token in the body is the credential. */
export function portalActivationRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/portal/v1/activate",
      summary: "Redeem an activation link: set the password and activate the account (400/410 for a bad, used or expired token)",
      tag: "portal",
      access: "public",
      body: RedeemActivationSchema,
      response: ActivatedSchema,
      handle: ({ body, ctx }) => s.users.redeemActivation(ctx, body.token, body.password),
    }),
  ];
}
