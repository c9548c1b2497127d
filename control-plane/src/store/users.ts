import type { CustomAttribute } from "../domain/user-group.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { FIRST_AUTO_UID, USER_LIST, type MfaStatus, type SshKey, type User, type UserState } from "../domain/user.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";

/** Everything stored for a user but its id, version and times, in the API's naming. */
export interface UserRecord {
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  middlename: string;
  displayname: string;
  state: UserState;
  accountLocked: boolean;
  sudo: boolean;
  passwordlessSudo: boolean;
  sshKeys: SshKey[];
  unixUid: number;
  unixGid: number;
  shell: string;
  passwordNeverExpires: boolean;
  passwordExpiresAt: string | null;
  attributes: CustomAttribute[];
  jobTitle: string;
  department: string;
  company: string;
  costCenter: string;
  employeeType: string;
  employeeIdentifier: string | null;
  manager: string | null;
  location: string;
  alternateEmail: string | null;
  phoneNumbers: User["phoneNumbers"];
  addresses: User["addresses"];
  description: string;
  passwordHash: string | null;
  passwordCrypt: string | null;
  passwordSetAt: string | null;
  mfaRequired: boolean;
  mfaEnrollmentDays: number;
  mfaEnrollmentDeadline: string | null;
  mfaStatus: MfaStatus;
}

/** The column of each field; insert and update both write through this one map. */
const COLUMN: { readonly [K in keyof UserRecord]: string } = {
  username: "username",
  email: "email",
  firstname: "firstname",
  lastname: "lastname",
  middlename: "middlename",
  displayname: "displayname",
  state: "state",
  accountLocked: "account_locked",
  sudo: "sudo",
  passwordlessSudo: "passwordless_sudo",
  sshKeys: "ssh_keys",
  unixUid: "unix_uid",
  unixGid: "unix_gid",
  shell: "shell",
  passwordNeverExpires: "password_never_expires",
  passwordExpiresAt: "password_expires_at",
  attributes: "attributes",
  jobTitle: "job_title",
  department: "department",
  company: "company",
  costCenter: "cost_center",
  employeeType: "employee_type",
  employeeIdentifier: "employee_identifier",
  manager: "manager",
  location: "location",
  alternateEmail: "alternate_email",
  phoneNumbers: "phone_numbers",
  addresses: "addresses",
  description: "description",
  passwordHash: "password_hash",
  passwordCrypt: "password_crypt",
  passwordSetAt: "password_set_at",
  mfaRequired: "mfa_required",
  mfaEnrollmentDays: "mfa_enrollment_days",
  mfaEnrollmentDeadline: "mfa_enrollment_deadline",
  mfaStatus: "mfa_status",
};

/** A users row as SQLite returns it. */
export interface UserRow {
  id: string;
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  middlename: string;
  displayname: string;
  state: UserState;
  account_locked: number;
  sudo: number;
  passwordless_sudo: number;
  ssh_keys: string;
  unix_uid: number;
  unix_gid: number;
  shell: string;
  password_never_expires: number;
  password_expires_at: string | null;
  attributes: string;
  job_title: string;
  department: string;
  company: string;
  cost_center: string;
  employee_type: string;
  employee_identifier: string | null;
  manager: string | null;
  location: string;
  alternate_email: string | null;
  phone_numbers: string;
  addresses: string;
  description: string;
  password_set_at: string | null;
  mfa_required: number;
  mfa_enrollment_days: number;
  mfa_enrollment_deadline: string | null;
  mfa_status: MfaStatus;
  version: number;
  created_at: string;
  updated_at: string;
}

const SECRET_COLUMNS = new Set(["password_hash", "password_crypt"]);
/** What reads select: every column but the password hashes, which no read path needs to carry. */
const SELECT = ["id", ...Object.values(COLUMN).filter((c) => !SECRET_COLUMNS.has(c)), "version", "created_at", "updated_at"].join(", ");

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    firstname: row.firstname,
    lastname: row.lastname,
    middlename: row.middlename,
    displayname: row.displayname,
    state: row.state,
    accountLocked: row.account_locked === 1,
    sudo: row.sudo === 1,
    passwordlessSudo: row.passwordless_sudo === 1,
    sshKeys: JSON.parse(row.ssh_keys) as SshKey[],
    unixUid: row.unix_uid,
    unixGid: row.unix_gid,
    shell: row.shell,
    hasPassword: row.password_set_at !== null,
    passwordSetAt: row.password_set_at,
    passwordNeverExpires: row.password_never_expires === 1,
    passwordExpiresAt: row.password_expires_at,
    attributes: JSON.parse(row.attributes) as CustomAttribute[],
    jobTitle: row.job_title,
    department: row.department,
    company: row.company,
    costCenter: row.cost_center,
    employeeType: row.employee_type,
    employeeIdentifier: row.employee_identifier,
    manager: row.manager,
    location: row.location,
    alternateEmail: row.alternate_email,
    phoneNumbers: JSON.parse(row.phone_numbers) as User["phoneNumbers"],
    addresses: JSON.parse(row.addresses) as User["addresses"],
    description: row.description,
    mfa: {
      required: row.mfa_required === 1,
      enrollmentDays: row.mfa_enrollment_days,
      enrollmentDeadline: row.mfa_enrollment_deadline,
      status: row.mfa_status,
    },
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** SQLite has no booleans or lists: 0/1 and JSON text. */
function encode(value: unknown): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (Array.isArray(value)) return JSON.stringify(value);
  return value;
}

/** Fields that must be unique among users, and whose values another user already holds. */
export type UniqueField = "username" | "email" | "employeeIdentifier" | "unixUid";

const FIELDS = Object.keys(COLUMN) as (keyof UserRecord)[];
const INSERT = `INSERT INTO users (id, ${FIELDS.map((f) => COLUMN[f]).join(", ")}, version, created_at, updated_at)
  VALUES (?, ${FIELDS.map(() => "?").join(", ")}, 1, ?, ?)`;

export class UserStore {
  constructor(private readonly db: Db) {}

  insert(id: string, record: UserRecord, at: string): User {
    this.insertMany([{ id, record }], at);
    return this.get(id)!;
  }

  /** Inserts users with one prepared statement (a bulk import); run it in a transaction to make it all-or-nothing. */
  insertMany(users: readonly { id: string; record: UserRecord }[], at: string): void {
    const statement = this.db.prepare(INSERT);
    for (const { id, record } of users) statement.run(id, ...FIELDS.map((f) => encode(record[f])), at, at);
  }

  /**
   * Writes only the given fields, in one statement, and bumps the version: two PATCHes of different
   * fields both survive, whatever their order.
   */
  update(id: string, changes: Partial<UserRecord>, at: string): boolean {
    const fields = (Object.keys(changes) as (keyof UserRecord)[]).filter((f) => changes[f] !== undefined);
    const sets = [...fields.map((f) => `${COLUMN[f]} = ?`), "version = version + 1", "updated_at = ?"];
    return this.db.prepare(`UPDATE users SET ${sets.join(", ")} WHERE id = ?`).run(...fields.map((f) => encode(changes[f])), at, id).changes > 0;
  }

  get(id: string): User | undefined {
    const row = this.db.prepare(`SELECT ${SELECT} FROM users WHERE id = ?`).get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  /** Usernames are unique without case, so this finds "Ada" for "ada". */
  findByUsername(username: string): User | undefined {
    const row = this.db.prepare(`SELECT ${SELECT} FROM users WHERE username = ?`).get(username) as UserRow | undefined;
    return row && toUser(row);
  }

  /** A portal sign-in name: the username or the email address, both without case (a username has no "@"). */
  findByLogin(login: string): User | undefined {
    const row = this.db.prepare(`SELECT ${SELECT} FROM users WHERE username = @login OR email = @login`).get({ login }) as UserRow | undefined;
    return row && toUser(row);
  }

  /** The stored hashes, for checking a password on the portal (and tests); no other read path carries them. */
  passwordHashes(id: string): { hash: string | null; crypt: string | null } | undefined {
    return this.db.prepare("SELECT password_hash AS hash, password_crypt AS crypt FROM users WHERE id = ?").get(id) as
      | { hash: string | null; crypt: string | null }
      | undefined;
  }

  /** Users still `pending` MFA enrollment whose window closed at or before `now` (ISO-8601). */
  mfaEnrollmentsPastDeadline(now: string): string[] {
    const rows = this.db.prepare("SELECT id FROM users WHERE mfa_status = 'pending' AND mfa_enrollment_deadline <= ?").all(now) as { id: string }[];
    return rows.map((row) => row.id);
  }

  list(query: ListQuery): Page<User> {
    return listPage(this.db, "users", SELECT, query, USER_LIST, toUser);
  }

  delete(id: string): boolean {
    return this.db.prepare("DELETE FROM users WHERE id = ?").run(id).changes > 0;
  }

  /** Which of these values another user (not `exceptId`) already has; text is compared without case. */
  taken(values: Partial<Pick<UserRecord, UniqueField>>, exceptId: string | null): UniqueField[] {
    const taken: UniqueField[] = [];
    for (const field of ["username", "email", "employeeIdentifier", "unixUid"] as const) {
      const value = values[field];
      if (value === undefined || value === null) continue;
      const row = this.db.prepare(`SELECT 1 FROM users WHERE ${COLUMN[field]} = ? AND id IS NOT ?`).get(value, exceptId);
      if (row) taken.push(field);
    }
    return taken;
  }

  /**
   * Which of these values of a unique field users already have, in one query: text lower-cased as the
   * unique indexes compare it (NOCASE folds ASCII letters only), uids as numbers.
   */
  takenValues(field: UniqueField, values: readonly (string | number)[]): Set<string | number> {
    if (values.length === 0) return new Set();
    const column = COLUMN[field];
    const select = field === "unixUid" ? column : `lower(${column})`;
    const rows = this.db.prepare(`SELECT ${select} AS value FROM users WHERE ${column} IN (SELECT value FROM json_each(?))`).all(JSON.stringify(values)) as { value: string | number }[];
    return new Set(rows.map((row) => row.value));
  }

  /** The uid for a user created without one: one past the highest in the automatic range. */
  nextUnixUid(): number {
    const row = this.db.prepare("SELECT MAX(unix_uid) AS uid FROM users WHERE unix_uid >= ?").get(FIRST_AUTO_UID) as { uid: number | null };
    return row.uid === null ? FIRST_AUTO_UID : row.uid + 1;
  }
}
