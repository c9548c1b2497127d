// The query planner's statistics on a real SQLite file: without them, a list filtered by run and status
// walks the status index over every execution with that status.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, refreshPlannerStatistics, type Db } from "../../control-plane/src/store/db.js";

const RUN_AND_STATUS = "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM executions WHERE run_id = ? AND status = ?";
const plan = (db: Db) => (db.prepare(RUN_AND_STATUS).all("run_00042", "succeeded") as { detail: string }[]).map((row) => row.detail).join("; ");

describe("planner statistics", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tether-planner-"));
    path = join(dir, "tether.db");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** 200 runs of 100 executions each, all finished: what a server holds after some months. */
  function fillHistory(db: Db): void {
    db.pragma("foreign_keys = OFF");
    const insert = db.prepare(
      "INSERT INTO executions (id, run_id, device_id, spec, status, requested_at, expires_at) VALUES (?, ?, ?, '{}', 'succeeded', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')",
    );
    db.transaction(() => {
      for (let run = 0; run < 200; run++) {
        for (let device = 0; device < 100; device++) insert.run(`exe_${run}_${device}`, `run_${String(run).padStart(5, "0")}`, `dev_${device}`);
      }
    })();
  }

  it("a server that opens a database with history lists one run's results by the run's index", () => {
    const first = openDatabase(path);
    fillHistory(first);
    // Before any statistics the planner takes status = ? for selective: the mistake this guards against.
    expect(plan(first)).toMatch(/executions_status_expires/);
    first.close();

    const reopened = openDatabase(path);
    expect(plan(reopened)).toMatch(/USING INDEX executions_run \(run_id=\?\)/);
    reopened.close();
  });

  it("the periodic refresh catches up with history written while the server runs", () => {
    const db = openDatabase(path);
    fillHistory(db);
    refreshPlannerStatistics(db);
    expect(plan(db)).toMatch(/USING INDEX executions_run \(run_id=\?\)/);
    db.close();
  });
});
