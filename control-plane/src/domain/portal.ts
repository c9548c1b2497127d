import { z } from "zod";
import { MFA_STATUSES, UserSchema } from "./user.js";

/** Portal session tokens start with this, so a leaked one is recognisable (API keys start with `tak_`). */
export const PORTAL_TOKEN_PREFIX = "tps_";

/** `password-change`: the password had expired at sign-in; until it is changed the session may do nothing else. */
export type PortalSessionScope = "full" | "password-change";

/** TOTP as authenticator apps and JumpCloud use it: SHA-1, 6 digits, 30-second steps. */
export const TOTP = { issuer: "Tether", algorithm: "SHA1", digits: 6, periodSeconds: 30 } as const;

/** Six digits; spaces (as apps show "123 456") are dropped. */
const CodeSchema = z
  .string()
  .max(20)
  .transform((code) => code.replace(/\s+/g, ""))
  .pipe(z.string().regex(/^\d{6}$/, "must be the 6 digits your authenticator app shows"));

export const PortalLoginSchema = z
  .object({
    /** The username or the email address, without case. */
    login: z.string().trim().min(1).max(254),
    password: z.string().min(1).max(1024),
    /** The authenticator app's current code; needed once the user is enrolled in MFA. */
    code: CodeSchema.optional(),
  })
  .strict()
  .meta({ id: "PortalLogin" });
export type PortalLogin = z.output<typeof PortalLoginSchema>;

export const PortalMfaSchema = z
  .object({
    status: z.enum(MFA_STATUSES),
    /** True while MFA is required and not enrolled yet: enroll before `deadline`, or the portal locks the user out. */
    enrollmentRequired: z.boolean(),
    /** When the enrollment window closes; null unless `pending`. */
    deadline: z.string().nullable(),
  })
  .meta({ id: "PortalMfa" });
export type PortalMfa = z.infer<typeof PortalMfaSchema>;

export const PortalSessionSchema = z
  .object({
    /** `tps_…`, sent as `Authorization: Bearer …`. Shown once: only its hash is kept. */
    token: z.string(),
    expiresAt: z.string(),
    /** The password has expired: this session may only change it (POST /portal/v1/password), read /me and log out. */
    passwordChangeRequired: z.boolean(),
    mfa: PortalMfaSchema,
  })
  .meta({ id: "PortalSession" });
export type PortalSession = z.infer<typeof PortalSessionSchema>;

export const TotpEnrollmentSchema = z
  .object({
    /** Base32, for typing into an app by hand. Shown once: it is stored sealed and never returned again. */
    secret: z.string(),
    /** `otpauth://totp/Tether:USERNAME?secret=…&issuer=Tether&algorithm=SHA1&digits=6&period=30` */
    uri: z.string(),
    /** The URI as a QR code: a PNG `data:` URL… */
    qrCodePng: z.string(),
    /** …and an SVG document. */
    qrCodeSvg: z.string(),
  })
  .meta({ id: "TotpEnrollment" });
export type TotpEnrollment = z.infer<typeof TotpEnrollmentSchema>;

export const TotpCodeSchema = z.object({ code: CodeSchema }).strict().meta({ id: "TotpCode" });

export const ChangePasswordSchema = z
  .object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().max(1024) })
  .strict()
  .meta({ id: "ChangePassword" });

/** What users see of themselves: their own record without admin-only fields, and never a hash. */
export const PortalProfileSchema = UserSchema.pick({
  id: true,
  username: true,
  email: true,
  firstname: true,
  lastname: true,
  middlename: true,
  displayname: true,
  state: true,
  sshKeys: true,
  unixUid: true,
  unixGid: true,
  shell: true,
  passwordSetAt: true,
  passwordExpiresAt: true,
  jobTitle: true,
  department: true,
  company: true,
  location: true,
  alternateEmail: true,
  phoneNumbers: true,
  addresses: true,
  mfa: true,
  createdAt: true,
}).meta({ id: "PortalProfile" });
export type PortalProfile = z.infer<typeof PortalProfileSchema>;
