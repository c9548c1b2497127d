import type { RequestContext } from "../domain/actor.js";
import type { Sudo } from "../domain/user-group.js";
import type { ImportFormat, ImportMode, ImportResult, ImportRow, LinkStatus, RowError, RowStatus } from "../domain/user-import.js";
import { newId } from "../ids.js";
import type { Stores } from "../store/index.js";
import type { UniqueField } from "../store/users.js";
import type { UserConfig } from "../user-config.js";
import { audit } from "./audit.js";
import type { BindingService } from "./bindings.js";
import { hashPassword, type PasswordHashes } from "./password-hashing.js";
import type { ImportConfig } from "./user-import-config.js";
import { confirmationCsv, readUserCsv, templateCsv } from "./user-import-csv.js";
import { asciiLower, planRow, type RowPlan } from "./user-import-rows.js";
import type { UserGroupService } from "./user-groups.js";
import type { NewUser, UserService } from "./users.js";

export interface ImportOptions {
  dryRun: boolean;
  mode: ImportMode;
  /** Aborted when the client went away: nothing is written after that. */
  signal?: AbortSignal | undefined;
}

export interface UserImportDeps {
  users: UserService;
  userGroups: UserGroupService;
  bindings: BindingService;
  userConfig: UserConfig;
  config: ImportConfig;
}

/** A row on its way through the import: its plan, the id it will get, and what the directory resolved. */
interface Row {
  plan: RowPlan;
  /** Given when the row is written. */
  id: string | null;
  /** The manager's user id, when the manager is in the directory. */
  managerId: string | null;
  /** The manager's row, when the manager is in the same file. */
  managerRow: Row | null;
  groupIds: string[];
  hashes: PasswordHashes | undefined;
}

const TAKEN: { field: UniqueField; column: string; value: (row: Row) => string | number | null | undefined; message: (value: string | number) => string }[] = [
  { field: "username", column: "Username", value: (r) => r.plan.input?.username, message: (v) => `a user named "${v}" already exists (usernames are compared without case)` },
  { field: "email", column: "Email", value: (r) => r.plan.input?.email, message: (v) => `another user already has the email ${v} (compared without case)` },
  { field: "employeeIdentifier", column: "employeeIdentifier", value: (r) => r.plan.input?.employeeIdentifier, message: (v) => `another user already has the employee identifier "${v}"` },
  { field: "unixUid", column: "unix_uid", value: (r) => r.plan.input?.unixUid, message: (v) => `uid ${v} belongs to another user` },
];

/**
 * CSV import of users (docs/directory.md, "CSV import"). In order:
 *  1. read the file and each row on its own (columns, the user schema, the password policy);
 *  2. compare the rows with each other (duplicates) and with the directory (taken names and uids,
 *     groups, devices, managers): a dry run stops here, and so does an all-or-nothing import with a
 *     failed row, before any password is hashed;
 *  3. hash the passwords, several at once, outside any transaction (≈0.2 s of CPU each);
 *  4. in one short transaction: check against the directory again (it may have changed while hashing),
 *     then write the users, their group memberships and device bindings, or nothing.
 * Passwords are never part of a result, an error or an audit event.
 */
export class UserImportService {
  constructor(
    private readonly stores: Stores,
    private readonly deps: UserImportDeps,
  ) {}

  get config(): ImportConfig {
    return this.deps.config;
  }

  template(format: ImportFormat): string {
    return templateCsv(format);
  }

  confirmation(result: ImportResult): string {
    return confirmationCsv(result);
  }

  async run(ctx: RequestContext, text: string, options: ImportOptions): Promise<ImportResult> {
    const csv = readUserCsv(text, this.deps.config.maxRows);
    const label = (column: string) => csv.spelling.get(column) ?? column;
    const rows: Row[] = csv.records.map((record) => ({
      plan: planRow(record, csv, this.deps.userConfig.passwordMinLength),
      id: null,
      managerId: null,
      managerRow: null,
      groupIds: [],
      hashes: undefined,
    }));
    const report = (committed: boolean) => buildResult(csv.format, options, rows, committed);

    markDuplicates(rows, label);
    this.checkDirectory(rows, label);
    if (options.dryRun || (options.mode === "all-or-nothing" && rows.some(failed))) return report(false);

    await this.hashPasswords(rows.filter((row) => !failed(row) && row.plan.password !== undefined), options.signal);
    options.signal?.throwIfAborted();

    return this.stores.transaction(() => {
      this.checkDirectory(rows, label);
      const good = rows.filter((row) => !failed(row));
      if (good.length === 0 || (options.mode === "all-or-nothing" && good.length < rows.length)) return report(false);
      this.write(ctx, good, csv.format, options.mode);
      return report(true);
    });
  }

  /**
   * Fails the rows that clash with the directory or point at what is not there; resolves groups and
   * managers of the others. Reads only, so it runs before hashing and again inside the write.
   */
  private checkDirectory(rows: Row[], label: (column: string) => string): void {
    const fail = (row: Row, column: string, message: string) => row.plan.errors.push({ field: label(column), message });
    for (const check of TAKEN) {
      const candidates = rows.filter((row) => !failed(row) && check.value(row) != null);
      const taken = this.stores.users.takenValues(check.field, candidates.map((row) => check.value(row)!));
      for (const row of candidates) {
        const value = check.value(row)!;
        if (taken.has(typeof value === "string" ? asciiLower(value) : value)) fail(row, check.column, check.message(value));
      }
    }

    const groups = new Map<string, string | undefined>();
    const devices = this.existingDevices(rows);
    for (const row of rows.filter((r) => !failed(r))) {
      row.groupIds = [];
      for (const { column, name } of row.plan.groups) {
        const key = asciiLower(name);
        if (!groups.has(key)) groups.set(key, this.stores.userGroups.findByName(name)?.id);
        const id = groups.get(key);
        if (id) row.groupIds.push(id);
        else fail(row, column, `no user group named "${name}"; create it first (POST /api/v1/user-groups)`);
      }
      const device = row.plan.device;
      if (device && !devices.has(device.id)) fail(row, "SystemID", `no device with id "${device.id}"`);
    }
    this.resolveManagers(rows, fail);
  }

  private existingDevices(rows: Row[]): Set<string> {
    const ids = [...new Set(rows.flatMap((row) => (!failed(row) && row.plan.device ? [row.plan.device.id] : [])))];
    return new Set(this.stores.directoryGraph.deviceFacts(ids).map((device) => device.id));
  }

  /**
   * A manager is a user in the directory (by id or username) or a row of the same file (by username).
   * A row whose manager row fails fails too, and managers within the file must not form a loop.
   */
  private resolveManagers(rows: Row[], fail: (row: Row, column: string, message: string) => void): void {
    const byUsername = new Map(rows.filter((row) => row.plan.username !== "").map((row) => [asciiLower(row.plan.username), row]));
    const directory = new Map<string, string | undefined>();
    for (const row of rows) {
      const ref = row.plan.manager;
      row.managerId = null;
      row.managerRow = null;
      if (failed(row) || ref === undefined) continue;
      const inFile = byUsername.get(asciiLower(ref));
      if (inFile === row) fail(row, "manager", "a user cannot be their own manager");
      else if (inFile) row.managerRow = inFile;
      else {
        if (!directory.has(ref)) directory.set(ref, (this.stores.users.get(ref) ?? this.stores.users.findByUsername(ref))?.id);
        const id = directory.get(ref);
        if (id) row.managerId = id;
        else fail(row, "manager", `no user with the id or username "${ref}", in the directory or in this file`);
      }
    }
    for (const [row, loop] of managerLoops(rows)) {
      fail(row, "manager", `the managers form a loop: rows ${[...loop, row].map((r) => r.plan.row).join(" → ")}`);
    }
    // A row whose manager's row failed (or whose manager's manager's row…) cannot point at it.
    const doomed = new Map<Row, boolean>();
    const isDoomed = (row: Row): boolean => {
      let known = doomed.get(row);
      if (known === undefined) doomed.set(row, (known = failed(row) || (row.managerRow !== null && isDoomed(row.managerRow))));
      return known;
    };
    for (const row of rows) {
      if (!failed(row) && row.managerRow && isDoomed(row.managerRow)) fail(row, "manager", `the manager's own row (${row.managerRow.plan.row}) failed`);
    }
  }

  /** Hashes several passwords at once (scrypt works on libuv's pool); each row keeps only its hashes. */
  private async hashPasswords(rows: Row[], signal: AbortSignal | undefined): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        signal?.throwIfAborted();
        const row = rows[next++]!;
        row.hashes = await hashPassword(row.plan.password!);
        row.plan.password = undefined;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.config.hashConcurrency, rows.length) }, worker));
  }

  /** Inside the transaction: users (managers first), then group members (one change per group), then device bindings. */
  private write(ctx: RequestContext, rows: Row[], format: ImportFormat, mode: ImportMode): void {
    // Ids first: a row's manager may be a later row of the file.
    for (const row of rows) row.id = newId("usr", ctx.now.getTime());
    const users: NewUser[] = managersFirst(rows).map((row) => {
      const input = row.plan.input!;
      input.manager = row.managerId ?? row.managerRow?.id ?? null;
      return { id: row.id!, input, hashes: row.hashes };
    });
    this.deps.users.createMany(ctx, users, { via: "csv-import" });

    const members = new Map<string, string[]>();
    for (const row of rows) for (const groupId of row.groupIds) listIn(members, groupId).push(row.id!);
    for (const [groupId, userIds] of members) this.deps.userGroups.addMembers(ctx, groupId, userIds);

    for (const row of rows) {
      const device = row.plan.device;
      if (!device) continue;
      const sudo: Sudo | null = device.administrator === null ? null : { enabled: device.administrator, withoutPassword: false };
      this.deps.bindings.put(ctx, { subjectType: "user", subjectId: row.id!, objectType: "device", objectId: device.id }, sudo);
    }
    audit(this.stores.events, ctx, {
      action: "users.imported",
      objectType: "user",
      objectId: null,
      details: { format, mode, created: rows.length, groups: members.size, bindings: rows.filter((row) => row.plan.device).length },
    });
  }
}

/** The list under `key`, made empty when there is none. */
function listIn<T>(map: Map<string, T[]>, key: string): T[] {
  const list = map.get(key);
  if (list) return list;
  const made: T[] = [];
  map.set(key, made);
  return made;
}

function failed(row: Row): boolean {
  return row.plan.errors.length > 0;
}

/**
 * The rows whose managers, followed up through the file, come back to them, each with the loop as seen
 * from it (the row itself first). Each row is walked once.
 */
function managerLoops(rows: Row[]): Map<Row, Row[]> {
  const settled = new Set<Row>();
  const loops = new Map<Row, Row[]>();
  for (const start of rows) {
    const path: Row[] = [];
    const onPath = new Map<Row, number>();
    let row: Row | null = start;
    for (; row && !settled.has(row) && !onPath.has(row); row = row.managerRow) {
      onPath.set(row, path.length);
      path.push(row);
    }
    if (row && onPath.has(row)) {
      const loop = path.slice(onPath.get(row));
      loop.forEach((member, i) => loops.set(member, [...loop.slice(i), ...loop.slice(0, i)]));
    }
    for (const walked of path) settled.add(walked);
  }
  return loops;
}

/** Rows ordered so that a manager in the file is inserted before the rows it manages. */
function managersFirst(rows: Row[]): Row[] {
  const ordered: Row[] = [];
  const placed = new Set<Row>();
  const place = (row: Row) => {
    if (placed.has(row)) return;
    placed.add(row);
    if (row.managerRow) place(row.managerRow);
    ordered.push(row);
  };
  rows.forEach(place);
  return ordered;
}

/**
 * Rows of the file that share a username, an email (both without case), an employee identifier or a
 * uid all fail: which one was meant is for the admin to say.
 */
function markDuplicates(rows: Row[], label: (column: string) => string): void {
  const keys: { field: keyof RowPlan["unique"]; column: string; what: string }[] = [
    { field: "username", column: "Username", what: "username" },
    { field: "email", column: "Email", what: "email" },
    { field: "employeeIdentifier", column: "employeeIdentifier", what: "employee identifier" },
    { field: "unixUid", column: "unix_uid", what: "uid" },
  ];
  for (const { field, column, what } of keys) {
    const byValue = new Map<string, Row[]>();
    for (const row of rows) {
      const value = row.plan.unique[field];
      if (value === undefined) continue;
      listIn(byValue, asciiLower(value)).push(row);
    }
    for (const same of byValue.values()) {
      if (same.length < 2) continue;
      for (const row of same) {
        const others = same.filter((r) => r !== row).map((r) => r.plan.row);
        row.plan.errors.push({ field: label(column), message: `the same ${what} as row${others.length > 1 ? "s" : ""} ${others.join(", ")} of this file` });
      }
    }
  }
}

function buildResult(format: ImportFormat, options: ImportOptions, rows: Row[], committed: boolean): ImportResult {
  const results = rows.map((row) => rowResult(row, options.dryRun, committed));
  const count = (status: RowStatus) => results.filter((r) => r.status === status).length;
  const failures = count("failed");
  const result: ImportResult = {
    format,
    mode: options.mode,
    dryRun: options.dryRun,
    committed,
    totals: {
      rows: rows.length,
      created: count("created"),
      wouldCreate: count("would_create"),
      failed: failures,
      skipped: count("skipped"),
      staged: rows.filter((row, i) => (results[i]!.status === "created" || results[i]!.status === "would_create") && !row.hashes && row.plan.password === undefined).length,
    },
    rows: results,
  };
  if (!options.dryRun && options.mode === "all-or-nothing" && failures > 0) {
    result.error = {
      code: "import_failed",
      message: `${failures} of ${rows.length} rows failed, so nothing was imported (all-or-nothing): fix them and import the file again, or use mode=best-effort to import the other rows`,
    };
  }
  return result;
}

function rowResult(row: Row, dryRun: boolean, committed: boolean): ImportRow {
  const { plan } = row;
  const status: RowStatus = failed(row) ? "failed" : dryRun ? "would_create" : committed ? "created" : "skipped";
  const linkStatus = (column: string): LinkStatus => {
    if (plan.errors.some((e) => e.field === column)) return "failed";
    return status === "created" ? "added" : status === "would_create" ? "would_add" : "skipped";
  };
  return {
    row: plan.row,
    username: plan.username,
    status,
    userId: status === "created" ? row.id : null,
    errors: plan.errors.map((e): RowError => ({ field: e.field, message: e.message })),
    groups: plan.groups.map(({ column, name }) => ({ name, status: linkStatus(column) })),
    devices: plan.device ? [{ deviceId: plan.device.id, administrator: plan.device.administrator, status: linkStatus("SystemID") }] : [],
  };
}
