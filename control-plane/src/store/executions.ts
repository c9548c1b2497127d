import type { ExecResult, ExecutionSpecMessage } from "../../../shared/src/protocol/commands.js";
import { EXECUTION_LIST, type Execution, type ExecutionStatus } from "../domain/command.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";
import { StatementCache } from "./statements.js";

interface Row {
  id: string;
  run_id: string;
  command_id: string | null;
  command_name: string | null;
  device_id: string;
  parallel: number;
  status: ExecutionStatus;
  requested_by: string | null;
  requested_at: string;
  expires_at: string;
  sent_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  stdout?: string;
  stderr?: string;
  stdout_truncated: number;
  stderr_truncated: number;
  error: string | null;
  cancel_requested: number;
}

const SUMMARY_COLUMNS =
  "id, run_id, command_id, command_name, device_id, parallel, status, requested_by, requested_at, expires_at, sent_at, started_at, finished_at, exit_code, stdout_truncated, stderr_truncated, error, cancel_requested";

function toExecution(row: Row): Execution {
  return {
    id: row.id,
    runId: row.run_id,
    commandId: row.command_id,
    commandName: row.command_name,
    deviceId: row.device_id,
    status: row.status,
    exitCode: row.exit_code,
    ...(row.stdout !== undefined ? { stdout: row.stdout, stderr: row.stderr ?? "" } : {}),
    stdoutTruncated: row.stdout_truncated === 1,
    stderrTruncated: row.stderr_truncated === 1,
    error: row.error,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
    sentAt: row.sent_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.started_at && row.finished_at ? Date.parse(row.finished_at) - Date.parse(row.started_at) : null,
    cancelRequested: row.cancel_requested === 1,
  };
}

export interface NewExecution {
  id: string;
  runId: string;
  commandId: string | null;
  commandName: string | null;
  deviceId: string;
  spec: ExecutionSpecMessage;
  parallel: boolean;
  requestedBy: string | null;
  requestedAt: string;
  expiresAt: string;
}

/** What the dispatcher needs to send an execution. */
export interface Dispatchable {
  id: string;
  deviceId: string;
  spec: ExecutionSpecMessage;
  status: ExecutionStatus;
  cancelRequested: boolean;
}

/** The spec is read only to send it: lists and a run's answer leave it out. */
type DispatchRow = Pick<Row, "id" | "device_id" | "parallel" | "status" | "cancel_requested"> & { spec: string };
const DISPATCH_COLUMNS = "id, device_id, spec, parallel, status, cancel_requested";

const toDispatchable = (r: DispatchRow): Dispatchable => ({
  id: r.id,
  deviceId: r.device_id,
  spec: JSON.parse(r.spec) as ExecutionSpecMessage,
  status: r.status,
  cancelRequested: r.cancel_requested === 1,
});

export class ExecutionStore {
  private readonly statements: StatementCache;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  insert(executions: readonly NewExecution[]): void {
    const stmt = this.statements.prepare(
      `INSERT INTO executions (id, run_id, command_id, command_name, device_id, spec, parallel, status, requested_by, requested_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
    );
    for (const e of executions) {
      stmt.run(e.id, e.runId, e.commandId, e.commandName, e.deviceId, JSON.stringify(e.spec), e.parallel ? 1 : 0, e.requestedBy, e.requestedAt, e.expiresAt);
    }
  }

  get(id: string): Execution | undefined {
    const row = this.statements.prepare("SELECT * FROM executions WHERE id = ?").get(id) as Row | undefined;
    return row && toExecution(row);
  }

  /** In the order of `ids`; unknown ids are left out. */
  byIds(ids: readonly string[]): Execution[] {
    const rows = this.statements
      .prepare(`SELECT ${SUMMARY_COLUMNS} FROM executions WHERE id IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(ids)) as Row[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row ? [toExecution(row)] : [];
    });
  }

  /** `onlyRunner`: restrict to executions of commands this API key is a runner of. */
  list(query: ListQuery, onlyRunner?: string): Page<Execution> {
    const where = onlyRunner ? ["command_id IN (SELECT command_id FROM command_runners WHERE api_key_id = ?)"] : [];
    return listPage(this.db, "executions", SUMMARY_COLUMNS, query, EXECUTION_LIST, toExecution, where, onlyRunner ? [onlyRunner] : []);
  }

  /**
   * What to send these devices now, oldest first: per device, every queued parallel execution, and
   * the oldest queued sequential one unless a sequential one is already out (sent or running).
   * Per-device order is insertion order. One query for the whole set, so a fan-out to thousands of
   * devices does not run thousands of statements.
   */
  due(deviceIds: readonly string[], now: string): Dispatchable[] {
    const devices = JSON.stringify(deviceIds);
    // `+expires_at` keeps the planner on the (device_id, status) index: on the (status, expires_at)
    // one it would walk every queued execution of every device. ORDER BY rowid is insertion order
    // (ids made in the same millisecond do not sort by creation).
    const queued = this.statements
      .prepare(
        `SELECT ${DISPATCH_COLUMNS} FROM executions
         WHERE device_id IN (SELECT value FROM json_each(?)) AND status = 'queued' AND +expires_at > ? ORDER BY rowid`,
      )
      .all(devices, now) as DispatchRow[];
    const busy = new Set(
      (
        this.statements
          .prepare("SELECT DISTINCT device_id FROM executions WHERE device_id IN (SELECT value FROM json_each(?)) AND status IN ('sent', 'running') AND parallel = 0")
          .all(devices) as { device_id: string }[]
      ).map((r) => r.device_id),
    );
    return queued
      .filter((r) => {
        if (r.parallel === 1) return true;
        if (busy.has(r.device_id)) return false;
        busy.add(r.device_id); // the oldest sequential one goes out; the next waits for its result
        return true;
      })
      .map(toDispatchable);
  }

  /** Executions handed to the agent whose result has not arrived: re-sent after a reconnect. */
  outstanding(deviceId: string): Dispatchable[] {
    return (this.statements.prepare(`SELECT ${DISPATCH_COLUMNS} FROM executions WHERE device_id = ? AND status IN ('sent', 'running') ORDER BY rowid`).all(deviceId) as DispatchRow[]).map(toDispatchable);
  }

  /** Devices with queued work, for a dispatcher sweep after start-up. */
  devicesWithQueued(): string[] {
    return (this.statements.prepare("SELECT DISTINCT device_id FROM executions WHERE status = 'queued'").all() as { device_id: string }[]).map((r) => r.device_id);
  }

  /** The device an execution belongs to, if it exists. */
  deviceOf(id: string): string | undefined {
    return (this.statements.prepare("SELECT device_id FROM executions WHERE id = ?").get(id) as { device_id: string } | undefined)?.device_id;
  }

  markSent(id: string, at: string): boolean {
    return this.statements.prepare("UPDATE executions SET status = 'sent', sent_at = ? WHERE id = ? AND status = 'queued'").run(at, id).changes > 0;
  }

  markStarted(id: string, deviceId: string, at: string): boolean {
    return (
      this.statements.prepare("UPDATE executions SET status = 'running', started_at = ? WHERE id = ? AND device_id = ? AND status IN ('queued', 'sent')").run(at, id, deviceId)
        .changes > 0
    );
  }

  /** Stores a final result once; a repeated result for the same id changes nothing (returns false). */
  finish(id: string, deviceId: string, result: Omit<ExecResult, "type" | "executionId">): boolean {
    return (
      this.statements
        .prepare(
          `UPDATE executions SET status = ?, exit_code = ?, stdout = ?, stderr = ?, stdout_truncated = ?, stderr_truncated = ?,
             started_at = COALESCE(started_at, ?), finished_at = ?, error = ?
           WHERE id = ? AND device_id = ? AND status IN ('queued', 'sent', 'running')`,
        )
        .run(
          result.status,
          result.exitCode,
          result.stdout,
          result.stderr,
          result.stdoutTruncated ? 1 : 0,
          result.stderrTruncated ? 1 : 0,
          result.startedAt,
          result.finishedAt,
          result.error,
          id,
          deviceId,
        ).changes > 0
    );
  }

  /** Marks queued executions whose time to live passed; returns their ids. */
  expire(now: string): { id: string; deviceId: string }[] {
    const rows = this.statements.prepare("SELECT id, device_id FROM executions WHERE status = 'queued' AND expires_at <= ?").all(now) as { id: string; device_id: string }[];
    const stmt = this.statements.prepare("UPDATE executions SET status = 'expired', finished_at = ? WHERE id = ? AND status = 'queued'");
    for (const r of rows) stmt.run(now, r.id);
    return rows.map((r) => ({ id: r.id, deviceId: r.device_id }));
  }

  /** Cancels a queued execution at once; false if it is no longer queued. */
  cancelQueued(id: string, at: string): boolean {
    return (
      this.statements
        .prepare("UPDATE executions SET status = 'canceled', finished_at = ?, cancel_requested = 1, error = 'canceled before delivery' WHERE id = ? AND status = 'queued'")
        .run(at, id).changes > 0
    );
  }

  requestCancel(id: string): void {
    this.statements.prepare("UPDATE executions SET cancel_requested = 1 WHERE id = ?").run(id);
  }
}
