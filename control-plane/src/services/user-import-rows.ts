import {
  ADDRESS_KINDS,
  ADDRESS_PARTS,
  PHONE_COLUMNS,
  type AddressPart,
  type RowError,
} from "../domain/user-import.js";
import { CreateUserSchema, type CreateUser } from "../domain/user.js";
import { passwordProblems } from "./password-policy.js";
import type { CsvRecord, UserCsv } from "./user-import-csv.js";

/**
 * One CSV row read into what the import writes: the user's fields (checked by the same schema as
 * POST /api/v1/users), its groups and device. Only what the row itself says is checked here; the
 * directory (taken names, unknown groups and devices, managers) and the other rows are checked by the
 * import service.
 */
export interface RowPlan {
  row: number;
  /** As the row gives it (trimmed). */
  username: string;
  /** The cells that must be unique, as given (trimmed; absent when empty): duplicates are found from these, valid or not. */
  unique: { username?: string; email?: string; employeeIdentifier?: string; unixUid?: string };
  /**
   * The user to create, without password (kept apart until hashed) and with `manager` null until the
   * import resolves it; undefined when the row's own cells are wrong.
   */
  input: CreateUser | undefined;
  /** The plain password, until it is hashed; undefined: the user is created staged. */
  password: string | undefined;
  /** The `manager` cell: a user id, or the username of a user in the directory or the file. */
  manager: string | undefined;
  /** `GroupN` names with their column, each name once (compared as the directory compares them). */
  groups: { column: string; name: string }[];
  /** The `SystemID` binding; administrator null when the cell is empty (the binding says nothing about sudo). */
  device: { id: string; administrator: boolean | null } | undefined;
  errors: RowError[];
}

/** Schema field → the extended column it comes from. */
const FIELD_COLUMNS: Record<string, string> = {
  username: "Username",
  email: "Email",
  firstname: "FirstName",
  lastname: "LastName",
  middlename: "MiddleName",
  alternateEmail: "alternateEmail",
  jobTitle: "jobTitle",
  employeeIdentifier: "employeeIdentifier",
  department: "department",
  costCenter: "costCenter",
  company: "company",
  employeeType: "employeeType",
  description: "description",
  location: "location",
  unixUid: "unix_uid",
  unixGid: "unix_guid",
};

/** Address schema field → the column suffix (`home_city` is `locality`). */
const ADDRESS_FIELDS: Record<AddressPart, string> = {
  streetAddress: "streetAddress",
  poBox: "poBox",
  city: "locality",
  state: "region",
  postalCode: "postalCode",
  country: "country",
};

/** The address columns of each kind, with the address field each fills. */
const ADDRESS_COLUMNS = ADDRESS_KINDS.map((kind) => ({
  kind,
  columns: ADDRESS_PARTS.map((part) => ({ field: ADDRESS_FIELDS[part], column: `${kind}_${part}` })),
}));

const TRUE_FALSE = /^(true|false)$/i;

type Cell = (column: string) => string;
/** Reports a problem with a column's cell. */
type Fault = (column: string, message: string) => void;

export function planRow(record: CsvRecord, csv: Pick<UserCsv, "spelling" | "groups" | "attributes">, passwordMinLength: number): RowPlan {
  const label = (column: string) => csv.spelling.get(column) ?? column;
  const cell = (column: string) => record.cells.get(column)?.trim() ?? "";
  const username = cell("Username");
  const uid = cell("unix_uid");
  // "05000" and "5000" are one uid.
  const unique = definedOnly({ username, email: cell("Email"), employeeIdentifier: cell("employeeIdentifier"), unixUid: /^\d+$/.test(uid) ? String(Number(uid)) : uid });
  const plan: RowPlan = { row: record.row, username, unique, input: undefined, password: undefined, manager: undefined, groups: [], device: undefined, errors: [] };
  if (record.cellCountMismatch !== null) {
    plan.errors.push({ field: "row", message: `the row has ${record.cellCountMismatch} cells but the header has ${record.cells.size} columns` });
    return plan;
  }
  const fault: Fault = (column, message) => plan.errors.push({ field: label(column), message });

  // Passwords are taken as written, spaces and all; every other cell is trimmed.
  const password = record.cells.get("Password") ?? "";
  if (password !== "") {
    plan.password = password;
    for (const problem of passwordProblems(password, username, passwordMinLength)) fault("Password", problem);
  }
  if (cell("recoveryEmail") !== "") {
    fault("recoveryEmail", "Tether keeps no recovery email (a user without a password gets an activation link at Email); move the address to alternateEmail or leave recoveryEmail empty");
  }
  plan.manager = cell("manager") || undefined;
  plan.groups = groupsOf(csv.groups, cell);
  plan.device = deviceOf(cell, fault);
  const { input, columnOf } = fieldsOf(csv.attributes, cell, fault);
  const parsed = CreateUserSchema.safeParse(input);
  if (!parsed.success) for (const issue of parsed.error.issues) fault(columnOf(issue.path), issue.message);
  else if (plan.errors.length === 0) plan.input = parsed.data;
  return plan;
}

function definedOnly<T extends Record<string, string>>(cells: T): Partial<T> {
  return Object.fromEntries(Object.entries(cells).filter(([, value]) => value !== "")) as Partial<T>;
}

/**
 * The create body a row stands for, and for each path in it the column it came from (to name the
 * column in the schema's complaints). Empty cells are left out: the field takes its default.
 */
function fieldsOf(attributeNumbers: string[], cell: Cell, fault: Fault): { input: Record<string, unknown>; columnOf: (path: PropertyKey[]) => string } {
  const input: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(FIELD_COLUMNS)) {
    const value = cell(column);
    if (value === "") continue;
    input[field] = field === "unixUid" || field === "unixGid" ? wholeNumber(column, value, fault) : value;
  }

  const addressColumns: string[] = [];
  const addresses = ADDRESS_COLUMNS.flatMap(({ kind, columns }) => {
    const parts = columns.map(({ field, column }) => [field, cell(column)] as const);
    if (parts.every(([, value]) => value === "")) return [];
    addressColumns.push(kind);
    return [{ type: kind, ...Object.fromEntries(parts) }];
  });
  if (addresses.length > 0) input.addresses = addresses;

  const phoneColumns: string[] = [];
  const phones = Object.entries(PHONE_COLUMNS).flatMap(([column, type]) => {
    const value = cell(column);
    if (value === "") return [];
    phoneColumns.push(column);
    return [{ type, number: value }];
  });
  if (phones.length > 0) input.phoneNumbers = phones;

  const givenAttributes: string[] = [];
  const attributes = attributeNumbers.flatMap((n) => {
    const name = cell(`Attribute${n}_name`);
    const value = cell(`Attribute${n}_value`);
    if (name === "" && value === "") return [];
    if (name === "") {
      fault(`Attribute${n}_name`, `Attribute${n}_value is given but its name is empty`);
      return [];
    }
    givenAttributes.push(n);
    return [{ name, value }];
  });
  if (attributes.length > 0) input.attributes = attributes;

  const mfa: Record<string, unknown> = {};
  const required = cell("enable_user_portal_multifactor");
  if (required !== "") mfa.required = trueFalse("enable_user_portal_multifactor", required, fault);
  const days = cell("EnrollmentDays");
  if (days !== "") mfa.enrollmentDays = wholeNumber("EnrollmentDays", days, fault);
  if (Object.keys(mfa).length > 0) input.mfa = mfa;

  const columnOf = (path: PropertyKey[]): string => {
    const [field, index, part] = path;
    if (field === "addresses" && typeof index === "number") {
      const suffix = ADDRESS_PARTS.find((p) => ADDRESS_FIELDS[p] === part) ?? "streetAddress";
      return `${addressColumns[index]}_${suffix}`;
    }
    if (field === "phoneNumbers" && typeof index === "number") return phoneColumns[index]!;
    if (field === "attributes" && typeof index === "number") return `Attribute${givenAttributes[index]}_${part === "value" ? "value" : "name"}`;
    if (field === "mfa") return index === "required" ? "enable_user_portal_multifactor" : "EnrollmentDays";
    return FIELD_COLUMNS[String(field)] ?? String(field);
  };
  return { input, columnOf };
}

/** The row's groups, in column order, each name once (without case, as group names are unique). */
function groupsOf(groupNumbers: string[], cell: Cell): RowPlan["groups"] {
  const seen = new Set<string>();
  return groupNumbers
    .map((n) => ({ column: `Group${n}`, name: cell(`Group${n}`) }))
    .filter(({ name }) => {
      const key = asciiLower(name);
      if (name === "" || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

function deviceOf(cell: Cell, fault: Fault): RowPlan["device"] {
  const id = cell("SystemID");
  const administrator = cell("Administrator");
  if (id === "") {
    if (administrator !== "") fault("Administrator", "needs a SystemID on the same row: it is the user's sudo on that device");
    return undefined;
  }
  if (id.length > 128 || /\s/.test(id)) {
    fault("SystemID", "must be a device id such as dev_01jf…");
    return undefined;
  }
  return { id, administrator: administrator === "" ? null : (trueFalse("Administrator", administrator, fault) ?? null) };
}

/** The number in a cell; undefined (and a fault) when it is not a whole number. */
function wholeNumber(column: string, value: string, fault: Fault): number | undefined {
  if (/^\d{1,10}$/.test(value)) return Number(value);
  fault(column, "must be a whole number");
  return undefined;
}

function trueFalse(column: string, value: string, fault: Fault): boolean | undefined {
  if (TRUE_FALSE.test(value)) return value.toLowerCase() === "true";
  fault(column, "must be True or False");
  return undefined;
}

/**
 * Lower case as SQLite's NOCASE sees it (ASCII letters only), so that duplicates within a file are
 * found exactly as the directory's unique indexes would find them.
 */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
