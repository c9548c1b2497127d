import Database from "better-sqlite3";
import { MIGRATIONS, type Migration } from "./migrations/index.js";

export type Db = Database.Database;

/**
 * Opens (creating if needed) the SQLite database in WAL mode and brings its schema up to date.
 * WAL lets REST reads proceed while the gateway writes; `synchronous = NORMAL` is durable across
 * process crashes in WAL mode, which is the failure we guard against (power loss may drop the last
 * transactions, never corrupt the file).
 */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db, migrations);
  refreshPlannerStatistics(db, { firstOnThisConnection: true });
  return db;
}

/**
 * Keeps the query planner's statistics current (SQLite's `PRAGMA optimize`, with a bounded sample so
 * it stays in the milliseconds on a large database). Without them SQLite guesses that `status = ?`
 * is selective and walks the status index for a filtered list: on 85,000 executions, counting one
 * run's results by status scanned every succeeded execution instead of the run's own. The server
 * runs it at start and every few hours, as SQLite recommends for long-lived connections.
 */
export function refreshPlannerStatistics(db: Db, { firstOnThisConnection = false } = {}): void {
  db.pragma("analysis_limit = 1000");
  // 0x10002: also analyse tables that have never been analysed, which a new connection must ask for.
  db.pragma(firstOnThisConnection ? "optimize = 0x10002" : "optimize");
}

export function schemaVersion(db: Db): number {
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null };
  return row.v ?? 0;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const current = schemaVersion(db);
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new Error(`the database has schema version ${current}, newer than this server knows (${newest}): run a newer tether-server`);
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    })();
  }
}
