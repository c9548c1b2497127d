import { COMMAND_LIST, type Command, type CommandOs, type Launch } from "../domain/command.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";

interface Row {
  id: string;
  name: string;
  description: string;
  script: string;
  os: CommandOs;
  shell: Command["shell"];
  run_as: string;
  timeout_seconds: number;
  queue_ttl_seconds: number;
  env: string;
  parallel: number;
  launch: string;
  last_scheduled_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A command as stored: everything but the joined file metadata. */
export type CommandRecord = Omit<Command, "files"> & { files: { fileId: string; path: string }[] };

export class CommandStore {
  constructor(private readonly db: Db) {}

  insert(command: CommandRecord): void {
    this.db
      .prepare(
        `INSERT INTO commands (id, name, description, script, os, shell, run_as, timeout_seconds, queue_ttl_seconds, env, parallel, launch, trigger_name, created_at, updated_at)
         VALUES (@id, @name, @description, @script, @os, @shell, @runAs, @timeoutSeconds, @queueTtlSeconds, @env, @parallel, @launch, @triggerName, @createdAt, @updatedAt)`,
      )
      .run(this.params(command));
    this.replaceChildren(command);
  }

  update(command: CommandRecord): void {
    this.db
      .prepare(
        `UPDATE commands SET name = @name, description = @description, script = @script, os = @os, shell = @shell, run_as = @runAs,
           timeout_seconds = @timeoutSeconds, queue_ttl_seconds = @queueTtlSeconds, env = @env, parallel = @parallel, launch = @launch,
           trigger_name = @triggerName, updated_at = @updatedAt WHERE id = @id`,
      )
      .run(this.params(command));
    this.replaceChildren(command);
  }

  delete(id: string): boolean {
    return this.db.prepare("DELETE FROM commands WHERE id = ?").run(id).changes > 0;
  }

  get(id: string): Command | undefined {
    const row = this.db.prepare("SELECT * FROM commands WHERE id = ?").get(id) as Row | undefined;
    return row && this.hydrate(row);
  }

  idByName(name: string): string | undefined {
    return (this.db.prepare("SELECT id FROM commands WHERE name = ?").get(name) as { id: string } | undefined)?.id;
  }

  idByTrigger(name: string): string | undefined {
    return (this.db.prepare("SELECT id FROM commands WHERE trigger_name = ?").get(name) as { id: string } | undefined)?.id;
  }

  /** `onlyRunner`: restrict to commands this API key may run (role command-runner). */
  list(query: ListQuery, onlyRunner?: string): Page<Command> {
    const where = onlyRunner ? ["id IN (SELECT command_id FROM command_runners WHERE api_key_id = ?)"] : [];
    return listPage(this.db, "commands", "*", query, COMMAND_LIST, (row: Row) => this.hydrate(row), where, onlyRunner ? [onlyRunner] : []);
  }

  isRunner(commandId: string, apiKeyId: string): boolean {
    return this.db.prepare("SELECT 1 FROM command_runners WHERE command_id = ? AND api_key_id = ?").get(commandId, apiKeyId) !== undefined;
  }

  /** Commands launched by time, with when each was last launched for. */
  timed(): { command: Command; lastScheduledAt: string | null }[] {
    const rows = this.db.prepare("SELECT * FROM commands WHERE json_extract(launch, '$.type') IN ('schedule', 'once')").all() as Row[];
    return rows.map((row) => ({ command: this.hydrate(row), lastScheduledAt: row.last_scheduled_at }));
  }

  setLastScheduled(id: string, at: string): void {
    this.db.prepare("UPDATE commands SET last_scheduled_at = ? WHERE id = ?").run(at, id);
  }

  private params(c: CommandRecord) {
    return {
      id: c.id,
      name: c.name,
      description: c.description,
      script: c.script,
      os: c.os,
      shell: c.shell,
      runAs: c.runAs,
      timeoutSeconds: c.timeoutSeconds,
      queueTtlSeconds: c.queueTtlSeconds,
      env: JSON.stringify(c.env),
      parallel: c.parallel ? 1 : 0,
      launch: JSON.stringify(c.launch),
      triggerName: c.launch.type === "trigger" ? c.launch.name : null,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    };
  }

  private replaceChildren(c: CommandRecord): void {
    for (const table of ["command_targets", "command_runners", "command_files"]) this.db.prepare(`DELETE FROM ${table} WHERE command_id = ?`).run(c.id);
    const target = this.db.prepare("INSERT OR IGNORE INTO command_targets (command_id, target_type, target_id) VALUES (?, ?, ?)");
    for (const id of c.targets.devices) target.run(c.id, "device", id);
    for (const id of c.targets.deviceGroups) target.run(c.id, "device-group", id);
    const runner = this.db.prepare("INSERT OR IGNORE INTO command_runners (command_id, api_key_id) VALUES (?, ?)");
    for (const id of c.runners) runner.run(c.id, id);
    const file = this.db.prepare("INSERT INTO command_files (command_id, file_id, path) VALUES (?, ?, ?)");
    for (const f of c.files) file.run(c.id, f.fileId, f.path);
  }

  private hydrate(row: Row): Command {
    const targets = this.db.prepare("SELECT target_type, target_id FROM command_targets WHERE command_id = ? ORDER BY target_id").all(row.id) as {
      target_type: string;
      target_id: string;
    }[];
    const runners = this.db.prepare("SELECT api_key_id FROM command_runners WHERE command_id = ? ORDER BY api_key_id").all(row.id) as { api_key_id: string }[];
    const files = this.db
      .prepare("SELECT f.id AS fileId, cf.path, f.name, f.size, f.sha256 FROM command_files cf JOIN files f ON f.id = cf.file_id WHERE cf.command_id = ? ORDER BY cf.path")
      .all(row.id) as Command["files"];
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      script: row.script,
      os: row.os,
      shell: row.shell,
      runAs: row.run_as,
      timeoutSeconds: row.timeout_seconds,
      queueTtlSeconds: row.queue_ttl_seconds,
      env: JSON.parse(row.env) as Record<string, string>,
      parallel: row.parallel === 1,
      files,
      launch: JSON.parse(row.launch) as Launch,
      targets: {
        devices: targets.filter((t) => t.target_type === "device").map((t) => t.target_id),
        deviceGroups: targets.filter((t) => t.target_type === "device-group").map((t) => t.target_id),
      },
      runners: runners.map((r) => r.api_key_id),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
