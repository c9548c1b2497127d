import { z } from "zod";
import { usernameProblem } from "../../../shared/src/names.js";
import { parseSshPublicKey, SshKeyError } from "../../../shared/src/ssh-public-key.js";
import type { ListSpec } from "./list-query.js";
import { CustomAttributeSchema } from "./user-group.js";

export const USER_STATES = ["staged", "activated", "suspended"] as const;
export type UserState = (typeof USER_STATES)[number];

export const MFA_STATUSES = ["not_enrolled", "pending", "enrolled", "enrollment_expired"] as const;
export type MfaStatus = (typeof MFA_STATUSES)[number];

/**
 * A user's MFA status at `now`, the one rule every writer of `mfa.status` follows: `enrolled` once a
 * TOTP secret is confirmed (whether required or not, until an admin resets it); otherwise, while MFA
 * is required, `pending` until the enrollment deadline and `enrollment_expired` from then on;
 * `not_enrolled` when it is not required.
 */
export function mfaStatusAt(mfa: { required: boolean; enrollmentDeadline: string | null }, enrolled: boolean, now: Date): MfaStatus {
  if (enrolled) return "enrolled";
  if (!mfa.required) return "not_enrolled";
  return mfa.enrollmentDeadline !== null && Date.parse(mfa.enrollmentDeadline) <= now.getTime() ? "enrollment_expired" : "pending";
}

export const PHONE_TYPES = ["mobile", "home", "work", "work_mobile", "work_fax", "other"] as const;
export const ADDRESS_TYPES = ["home", "work", "other"] as const;

/** Below 1000 are system accounts on Linux (500 on macOS); 65534 and 65535 are nobody and (uint16) -1. */
export const MIN_UNIX_ID = 1000;
export const MAX_UNIX_ID = 2_147_483_647;
/** A user created without a uid gets the next free one from here, and its gid defaults to its uid. */
export const FIRST_AUTO_UID = 5000;
export const DEFAULT_SHELL = "/bin/bash";
export const DEFAULT_MFA_ENROLLMENT_DAYS = 7;

/** API fields whose change devices see (their desired state moves); `password` is the $6$ hash. */
export const DEVICE_FIELDS: ReadonlySet<string> = new Set([
  "username",
  "state",
  "accountLocked",
  "sudo",
  "passwordlessSudo",
  "sshKeys",
  "unixUid",
  "unixGid",
  "shell",
  "password",
  "firstname",
  "lastname",
  "displayname",
]);

const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");

const email = z.email("must be an email address such as ada@example.com").max(254);

/** Refuses two items with the same key (compared without case), naming the second. */
function uniqueBy<T>(key: (item: T) => string, what: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const value = key(item).toLowerCase();
      if (seen.has(value)) ctx.addIssue({ code: "custom", path: [index], message: `${what} "${key(item)}" appears twice` });
      seen.add(value);
    });
  };
}

export const UsernameSchema = z.string().superRefine((name, ctx) => {
  const problem = usernameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const SshKeySchema = z
  .object({
    name: z.string(),
    /** `TYPE BASE64 COMMENT`, as in authorized_keys. */
    publicKey: z.string(),
    /** `SHA256:…`, as `ssh-keygen -l` prints it. */
    fingerprint: z.string(),
  })
  .meta({ id: "SshKey" });
export type SshKey = z.infer<typeof SshKeySchema>;

/** An SSH key as given: its public key is parsed and checked (shared/ssh-public-key.ts) and fingerprinted. */
const SshKeyInputSchema = z
  .object({ name: text(100).min(1), publicKey: z.string().max(16_384) })
  .strict()
  .transform((key, ctx): SshKey => {
    try {
      const parsed = parseSshPublicKey(key.publicKey);
      return { name: key.name, publicKey: parsed.line, fingerprint: parsed.fingerprint };
    } catch (error) {
      if (!(error instanceof SshKeyError)) throw error;
      ctx.addIssue({ code: "custom", path: ["publicKey"], message: error.message });
      return z.NEVER;
    }
  });

const SshKeysSchema = z
  .array(SshKeyInputSchema)
  .max(100)
  .superRefine(uniqueBy((k) => k.fingerprint, "the key"))
  .superRefine(uniqueBy((k) => k.name, "the key name"));

const AttributesSchema = z.array(CustomAttributeSchema).max(100).superRefine(uniqueBy((a) => a.name, "the attribute"));

export const PhoneNumberSchema = z
  .object({ type: z.enum(PHONE_TYPES), number: text(64).regex(/\d/, "must contain digits") })
  .strict()
  .meta({ id: "PhoneNumber" });

export const AddressSchema = z
  .object({
    type: z.enum(ADDRESS_TYPES),
    streetAddress: text(200).default(""),
    poBox: text(50).default(""),
    /** City. */
    locality: text(100).default(""),
    /** State or province. */
    region: text(100).default(""),
    postalCode: text(20).default(""),
    country: text(100).default(""),
  })
  .strict()
  .meta({ id: "Address" });

const UnixIdSchema = z
  .number()
  .int()
  .min(MIN_UNIX_ID)
  .max(MAX_UNIX_ID)
  .refine((id) => id !== 65534 && id !== 65535, "65534 and 65535 are reserved (nobody)");

const ShellSchema = z
  .string()
  .regex(/^\/[A-Za-z0-9._+/-]{1,254}$/, "must be an absolute path such as /bin/bash")
  .refine((path) => !path.split("/").includes(".."), "must not contain ..");

const EnrollmentDaysSchema = z.number().int().min(1).max(365);

/** The plain password; the policy (length, not the username) is checked by the service, which knows its settings. */
const PasswordSchema = z.string().max(1024);

/**
 * Writable fields and their rules, without defaults: PATCH takes them as they are (only what is
 * given changes) and create adds its defaults.
 */
const Fields = {
  username: UsernameSchema,
  email,
  password: PasswordSchema,
  firstname: text(100),
  lastname: text(100),
  middlename: text(100),
  displayname: text(200),
  accountLocked: z.boolean(),
  sudo: z.boolean(),
  /** Meaningful with `sudo`: admin rights without a password prompt. */
  passwordlessSudo: z.boolean(),
  sshKeys: SshKeysSchema,
  unixUid: UnixIdSchema,
  unixGid: UnixIdSchema,
  shell: ShellSchema,
  passwordNeverExpires: z.boolean(),
  passwordExpiresAt: z.iso.datetime({ offset: true }).nullable(),
  attributes: AttributesSchema,
  jobTitle: text(100),
  department: text(100),
  company: text(100),
  costCenter: text(100),
  employeeType: text(100),
  /** Unique among users (without case); null: none. */
  employeeIdentifier: text(100).min(1).nullable(),
  /** Id of the user's manager (another user). */
  manager: z.string().min(1).max(64).nullable(),
  location: text(200),
  alternateEmail: email.nullable(),
  phoneNumbers: z.array(PhoneNumberSchema).max(20),
  addresses: z.array(AddressSchema).max(10),
  description: z.string().max(2000),
};

export const UserSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    email: z.string(),
    firstname: z.string(),
    lastname: z.string(),
    middlename: z.string(),
    displayname: z.string(),
    state: z.enum(USER_STATES),
    accountLocked: z.boolean(),
    sudo: z.boolean(),
    passwordlessSudo: z.boolean(),
    sshKeys: z.array(SshKeySchema),
    unixUid: z.number().int(),
    unixGid: z.number().int(),
    shell: z.string(),
    /** True once a password is set (by an admin, the activation link or the user); the password itself never leaves. */
    hasPassword: z.boolean(),
    passwordSetAt: z.string().nullable(),
    passwordNeverExpires: z.boolean(),
    /** From this time the user must change the password (expire-password sets it to now); null: no expiry. */
    passwordExpiresAt: z.string().nullable(),
    attributes: z.array(CustomAttributeSchema),
    jobTitle: z.string(),
    department: z.string(),
    company: z.string(),
    costCenter: z.string(),
    employeeType: z.string(),
    employeeIdentifier: z.string().nullable(),
    manager: z.string().nullable(),
    location: z.string(),
    alternateEmail: z.string().nullable(),
    phoneNumbers: z.array(PhoneNumberSchema),
    addresses: z.array(AddressSchema),
    description: z.string(),
    mfa: z.object({
      required: z.boolean(),
      /** Days the user has to enroll once MFA is required (1–365). */
      enrollmentDays: z.number().int(),
      /** When the enrollment window closes; null while MFA is not required. */
      enrollmentDeadline: z.string().nullable(),
      status: z.enum(MFA_STATUSES),
    }),
    /** Bumped by every change; also sent as the ETag, for If-Match. */
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "User" });
export type User = z.infer<typeof UserSchema>;

export const CreateUserSchema = z
  .object({
    username: Fields.username,
    email: Fields.email,
    /** Given: the user is created `activated`; absent: `staged`, waiting for an activation link. */
    password: Fields.password.optional(),
    firstname: Fields.firstname.default(""),
    lastname: Fields.lastname.default(""),
    middlename: Fields.middlename.default(""),
    displayname: Fields.displayname.default(""),
    accountLocked: Fields.accountLocked.default(false),
    sudo: Fields.sudo.default(false),
    passwordlessSudo: Fields.passwordlessSudo.default(false),
    sshKeys: Fields.sshKeys.default([]),
    /** Absent: the next free uid from 5000. */
    unixUid: Fields.unixUid.optional(),
    /** Absent: the same as the uid. */
    unixGid: Fields.unixGid.optional(),
    shell: Fields.shell.default(DEFAULT_SHELL),
    passwordNeverExpires: Fields.passwordNeverExpires.default(false),
    passwordExpiresAt: Fields.passwordExpiresAt.default(null),
    attributes: Fields.attributes.default([]),
    jobTitle: Fields.jobTitle.default(""),
    department: Fields.department.default(""),
    company: Fields.company.default(""),
    costCenter: Fields.costCenter.default(""),
    employeeType: Fields.employeeType.default(""),
    employeeIdentifier: Fields.employeeIdentifier.default(null),
    manager: Fields.manager.default(null),
    location: Fields.location.default(""),
    alternateEmail: Fields.alternateEmail.default(null),
    phoneNumbers: Fields.phoneNumbers.default([]),
    addresses: Fields.addresses.default([]),
    description: Fields.description.default(""),
    mfa: z
      .object({ required: z.boolean().default(false), enrollmentDays: EnrollmentDaysSchema.default(DEFAULT_MFA_ENROLLMENT_DAYS) })
      .strict()
      .default({ required: false, enrollmentDays: DEFAULT_MFA_ENROLLMENT_DAYS }),
  })
  .strict()
  .meta({ id: "CreateUser" });
export type CreateUser = z.output<typeof CreateUserSchema>;

/** PATCH: only the fields given change; a list given (sshKeys, attributes, …) replaces the list. */
export const UpdateUserSchema = z
  .object({
    ...Fields,
    mfa: z.object({ required: z.boolean(), enrollmentDays: EnrollmentDaysSchema }).partial().strict(),
  })
  .partial()
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "give at least one field to change")
  .meta({ id: "UpdateUser" });
export type UpdateUser = z.output<typeof UpdateUserSchema>;

export const ActivationLinkSchema = z
  .object({
    /** One-time token; only its hash is stored. */
    token: z.string(),
    /** The portal page that redeems it: `{publicUrl}/portal/activate?token=…`. */
    url: z.string(),
    expiresAt: z.string(),
    /** Null when no SMTP server is configured (TETHER_SMTP_URL): hand the link over yourself. */
    email: z.object({ to: z.string(), sent: z.boolean(), error: z.string().nullable() }).nullable(),
  })
  .meta({ id: "ActivationLink" });
export type ActivationLink = z.infer<typeof ActivationLinkSchema>;

export const RedeemActivationSchema = z
  .object({ token: z.string().min(1).max(200), password: PasswordSchema })
  .strict()
  .meta({ id: "RedeemActivation" });

export const ActivatedSchema = z.object({ username: z.string(), state: z.enum(USER_STATES) }).meta({ id: "Activated" });

export const USER_LIST: ListSpec = {
  idColumn: "id",
  fields: {
    username: { column: "username", sortable: true, filterable: true },
    email: { column: "email", sortable: true, filterable: true },
    firstname: { column: "firstname", sortable: true, filterable: true },
    lastname: { column: "lastname", sortable: true, filterable: true },
    displayname: { column: "displayname", sortable: true, filterable: true },
    state: { column: "state", sortable: true, filterable: true, values: USER_STATES },
    department: { column: "department", sortable: true, filterable: true },
    jobTitle: { column: "job_title", sortable: true, filterable: true },
    company: { column: "company", sortable: true, filterable: true },
    costCenter: { column: "cost_center", filterable: true },
    employeeType: { column: "employee_type", filterable: true },
    employeeIdentifier: { column: "employee_identifier", sortable: true, filterable: true },
    location: { column: "location", filterable: true },
    manager: { column: "manager", filterable: true },
    unixUid: { column: "unix_uid", sortable: true, filterable: true },
    mfaStatus: { column: "mfa_status", filterable: true, values: MFA_STATUSES },
    createdAt: { column: "created_at", sortable: true, filterable: true },
    updatedAt: { column: "updated_at", sortable: true, filterable: true },
  },
};
