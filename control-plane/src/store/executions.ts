import type { ExecResult, ExecutionSpecMessage } from "../../../shared/src/protocol/commands.js";
import { EXECUTION_LIST, type Execution, type ExecutionStatus } from "../domain/command.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";

interface Row {
  id: string;
  run_id: string;
  command_id: string | null;
  command_name: string | null;
  device_id: string;
  spec: string;
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
  /** Insertion order: ids made in the same millisecond do not sort by creation. */
  rowid?: number;
}

const SUMMARY_COLUMNS =
  "id, run_id, command_id, command_name, device_id, spec, parallel, status, requested_by, requested_at, expires_at, sent_at, started_at, finished_at, exit_code, stdout_truncated, stderr_truncated, error, cancel_requested";

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

const toDispatchable = (r: Row): Dispatchable => ({
  id: r.id,
  deviceId: r.device_id,
  spec: JSON.parse(r.spec) as ExecutionSpecMessage,
  status: r.status,
  cancelRequested: r.cancel_requested === 1,
});

export class ExecutionStore {
  constructor(private readonly db: Db) {}

  insert(executions: readonly NewExecution[]): void {
    const stmt = this.db.prepare(
      `INSERT INTO executions (id, run_id, command_id, command_name, device_id, spec, parallel, status, requested_by, requested_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
    );
    for (const e of executions) {
      stmt.run(e.id, e.runId, e.commandId, e.commandName, e.deviceId, JSON.stringify(e.spec), e.parallel ? 1 : 0, e.requestedBy, e.requestedAt, e.expiresAt);
    }
  }

  get(id: string): Execution | undefined {
    const row = this.db.prepare("SELECT * FROM executions WHERE id = ?").get(id) as Row | undefined;
    return row && toExecution(row);
  }

  byIds(ids: readonly string[]): Execution[] {
    const stmt = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM executions WHERE id = ?`);
    return ids.map((id) => stmt.get(id) as Row | undefined).filter((r): r is Row => r !== undefined).map(toExecution);
  }

  /** `onlyRunner`: restrict to executions of commands this API key is a runner of. */
  list(query: ListQuery, onlyRunner?: string): Page<Execution> {
    const where = onlyRunner ? ["command_id IN (SELECT command_id FROM command_runners WHERE api_key_id = ?)"] : [];
    return listPage(this.db, "executions", SUMMARY_COLUMNS, query, EXECUTION_LIST, toExecution, where, onlyRunner ? [onlyRunner] : []);
  }

  /**
   * What to send a device now: every queued parallel execution, and the oldest queued sequential one
   * unless a sequential one is already out (sent or running). Per-device order is insertion order.
   */
  due(deviceId: string, now: string): Dispatchable[] {
    const queued = this.db
      .prepare(`SELECT ${SUMMARY_COLUMNS}, rowid FROM executions WHERE device_id = ? AND status = 'queued' AND expires_at > ? ORDER BY rowid`)
      .all(deviceId, now) as Row[];
    const busy = this.db
      .prepare("SELECT 1 FROM executions WHERE device_id = ? AND status IN ('sent', 'running') AND parallel = 0 LIMIT 1")
      .get(deviceId) !== undefined;
    const out = queued.filter((r) => r.parallel === 1);
    const nextSequential = queued.find((r) => r.parallel === 0);
    if (nextSequential && !busy) out.push(nextSequential);
    return out.sort((a, b) => a.rowid! - b.rowid!).map(toDispatchable);
  }

  /** Executions handed to the agent whose result has not arrived: re-sent after a reconnect. */
  outstanding(deviceId: string): Dispatchable[] {
    return (this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM executions WHERE device_id = ? AND status IN ('sent', 'running') ORDER BY rowid`).all(deviceId) as Row[]).map(toDispatchable);
  }

  /** Devices with queued work, for a dispatcher sweep after start-up. */
  devicesWithQueued(): string[] {
    return (this.db.prepare("SELECT DISTINCT device_id FROM executions WHERE status = 'queued'").all() as { device_id: string }[]).map((r) => r.device_id);
  }

  markSent(id: string, at: string): boolean {
    return this.db.prepare("UPDATE executions SET status = 'sent', sent_at = ? WHERE id = ? AND status = 'queued'").run(at, id).changes > 0;
  }

  markStarted(id: string, deviceId: string, at: string): boolean {
    return (
      this.db.prepare("UPDATE executions SET status = 'running', started_at = ? WHERE id = ? AND device_id = ? AND status IN ('queued', 'sent')").run(at, id, deviceId)
        .changes > 0
    );
  }

  /** Stores a final result once; a repeated result for the same id changes nothing (returns false). */
  finish(id: string, deviceId: string, result: Omit<ExecResult, "type" | "executionId">): boolean {
    return (
      this.db
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
    const rows = this.db.prepare("SELECT id, device_id FROM executions WHERE status = 'queued' AND expires_at <= ?").all(now) as { id: string; device_id: string }[];
    const stmt = this.db.prepare("UPDATE executions SET status = 'expired', finished_at = ? WHERE id = ? AND status = 'queued'");
    for (const r of rows) stmt.run(now, r.id);
    return rows.map((r) => ({ id: r.id, deviceId: r.device_id }));
  }

  /** Cancels a queued execution at once; false if it is no longer queued. */
  cancelQueued(id: string, at: string): boolean {
    return (
      this.db
        .prepare("UPDATE executions SET status = 'canceled', finished_at = ?, cancel_requested = 1, error = 'canceled before delivery' WHERE id = ? AND status = 'queued'")
        .run(at, id).changes > 0
    );
  }

  requestCancel(id: string): void {
    this.db.prepare("UPDATE executions SET cancel_requested = 1 WHERE id = ?").run(id);
  }
}
