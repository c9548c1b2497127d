import type { Statement } from "better-sqlite3";
import type { Db } from "./db.js";

/**
 * Prepares each SQL text once and reuses the statement. Preparing (parsing and planning) costs more
 * than running a small statement, and the hot paths (agent sessions, dispatch, results) run the same
 * few statements thousands of times a second. Callers must not change a statement's mode
 * (`pluck`, `raw`, `expand`): it is shared by everyone who asks for the same text.
 */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
