import { z } from "zod";

/**
 * CSV import of users, in JumpCloud's two formats (docs/directory.md, "CSV import"):
 *  - portal: the admin portal's header, exactly `firstname,lastname,username,email,password`;
 *  - extended: the JumpCloud PowerShell module's columns (Import-JCUsersFromCSV), spelled as it spells them.
 * Header names are case-sensitive in both: a column that differs only in case is refused with the
 * spelling it should have.
 */

export const IMPORT_FORMATS = ["portal", "extended"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export const PORTAL_COLUMNS = ["firstname", "lastname", "username", "email", "password"] as const;

/** Street address parts of an extended file's `home_*` and `work_*` columns. */
export const ADDRESS_PARTS = ["streetAddress", "poBox", "city", "state", "postalCode", "country"] as const;
export type AddressPart = (typeof ADDRESS_PARTS)[number];
export const ADDRESS_KINDS = ["home", "work"] as const;

/** Phone columns and the phone type each becomes. */
export const PHONE_COLUMNS = {
  mobile_number: "mobile",
  home_number: "home",
  work_number: "work",
  work_mobile_number: "work_mobile",
  work_fax_number: "work_fax",
} as const;

/** The extended format's fixed columns, in the template's order; `GroupN` and `AttributeN_name/_value` come after. */
export const EXTENDED_COLUMNS: readonly string[] = [
  "FirstName",
  "LastName",
  "Username",
  "Email",
  "Password",
  "MiddleName",
  "alternateEmail",
  "recoveryEmail",
  "manager",
  "jobTitle",
  "employeeIdentifier",
  "department",
  "costCenter",
  "company",
  "employeeType",
  "description",
  "location",
  ...ADDRESS_KINDS.flatMap((kind) => ADDRESS_PARTS.map((part) => `${kind}_${part}`)),
  ...Object.keys(PHONE_COLUMNS),
  "unix_uid",
  "unix_guid",
  "enable_user_portal_multifactor",
  "EnrollmentDays",
  "SystemID",
  "Administrator",
];

/** Columns an extended file must have. */
export const EXTENDED_REQUIRED: readonly string[] = ["Username", "Email"];

/** `Group1`, `Group2`, …: a user group to add the user to, by name. */
export const GROUP_COLUMN = /^Group([1-9]\d{0,3})$/;
/** `Attribute1_name` / `Attribute1_value`, …: a custom attribute; both columns of a number go together. */
export const ATTRIBUTE_COLUMN = /^Attribute([1-9]\d{0,3})_(name|value)$/;

/** How many of each numbered column the extended template shows (a file may have more). */
export const TEMPLATE_GROUPS = 3;
export const TEMPLATE_ATTRIBUTES = 2;

export function templateColumns(format: ImportFormat): string[] {
  if (format === "portal") return [...PORTAL_COLUMNS];
  return [
    ...EXTENDED_COLUMNS,
    ...Array.from({ length: TEMPLATE_GROUPS }, (_, i) => `Group${i + 1}`),
    ...Array.from({ length: TEMPLATE_ATTRIBUTES }, (_, i) => [`Attribute${i + 1}_name`, `Attribute${i + 1}_value`]).flat(),
  ];
}

export const IMPORT_MODES = ["all-or-nothing", "best-effort"] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];

/**
 * created: written. would_create: a dry run found nothing wrong with it. failed: see `errors`, nothing
 * of the row was written. skipped: nothing wrong with it, but not written because another row failed
 * in an all-or-nothing import.
 */
export const ROW_STATUSES = ["created", "would_create", "failed", "skipped"] as const;
export type RowStatus = (typeof ROW_STATUSES)[number];
/** What happened to one group or device of a row; `failed` ones have an error naming their column. */
export const LINK_STATUSES = ["added", "would_add", "failed", "skipped"] as const;
export type LinkStatus = (typeof LINK_STATUSES)[number];

/** A query flag: `true` or `false`, absent is false. */
const flag = z
  .enum(["true", "false"])
  .default("false")
  .transform((value) => value === "true");

export const ImportQuerySchema = z.object({
  dryRun: flag.describe("true: check every row and report, write nothing"),
  mode: z
    .enum(IMPORT_MODES)
    .default("all-or-nothing")
    .describe("all-or-nothing (default): one transaction, nothing written if any row fails; best-effort: every good row written, bad rows reported"),
});
export type ImportQuery = z.output<typeof ImportQuerySchema>;

export const TemplateQuerySchema = z.object({
  format: z.enum(IMPORT_FORMATS).default("portal").describe("portal (default): the five portal columns; extended: every extended column"),
});

export const RowErrorSchema = z.object({
  /** The column, as the file spells it; `row` for the row as a whole. */
  field: z.string(),
  message: z.string(),
});
export type RowError = z.infer<typeof RowErrorSchema>;

export const ImportRowSchema = z
  .object({
    /** The row as a spreadsheet numbers it: the header is row 1 (a `sep=` line and blank rows are not counted). */
    row: z.number().int(),
    /** As the file gives it; "" when empty. */
    username: z.string(),
    status: z.enum(ROW_STATUSES),
    /** The new user's id; null unless created. */
    userId: z.string().nullable(),
    /** Empty unless failed. Never contains a password. */
    errors: z.array(RowErrorSchema),
    /** The row's `GroupN` columns, by name as written. */
    groups: z.array(z.object({ name: z.string(), status: z.enum(LINK_STATUSES) })),
    /** The row's `SystemID`: a user↔device binding, with sudo when `administrator`. */
    devices: z.array(z.object({ deviceId: z.string(), administrator: z.boolean().nullable(), status: z.enum(LINK_STATUSES) })),
  })
  .meta({ id: "UserImportRow" });
export type ImportRow = z.infer<typeof ImportRowSchema>;

export const ImportTotalsSchema = z.object({
  rows: z.number().int(),
  created: z.number().int(),
  wouldCreate: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  /** Of the created (or would-be created) users, how many have no password and wait for activation. */
  staged: z.number().int(),
});
export type ImportTotals = z.infer<typeof ImportTotalsSchema>;

export const ImportResultSchema = z
  .object({
    format: z.enum(IMPORT_FORMATS),
    mode: z.enum(IMPORT_MODES),
    dryRun: z.boolean(),
    /** Whether anything was written. */
    committed: z.boolean(),
    totals: ImportTotalsSchema,
    rows: z.array(ImportRowSchema),
    /** Only when an all-or-nothing import wrote nothing because rows failed (HTTP 422). */
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: "UserImportResult" });
export type ImportResult = z.infer<typeof ImportResultSchema>;

/** Columns of the confirmation CSV (`Accept: text/csv`). */
export const CONFIRMATION_COLUMNS = ["Row", "Username", "Status", "UserID", "Errors", "Groups", "Devices"] as const;
