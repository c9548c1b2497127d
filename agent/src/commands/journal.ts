import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ExecResult, ExecutionSpecMessage } from "../../../shared/src/protocol/commands.js";
import { writeFileAtomic } from "../identity/files.js";

/**
 * The agent's durable memory of executions, one small file per id under STATE/executions/:
 *   starting  — written *before* the process is spawned: after a crash it may have run, so it is
 *               reported `interrupted` and never started again
 *   finished  — the result waits here (the outbox) until the control plane acknowledges it
 *   acked     — done; kept for a while so a late duplicate is recognised, then pruned
 * `starting` and `finished` are flushed to disk before the write returns. `acked` is not: losing it
 * in a power cut only means the result is sent once more, and the control plane ignores (and
 * acknowledges again) a result it already has. That saves an fsync per execution, which would
 * otherwise queue behind or in front of the next execution's `starting`.
 */
export type JournalState = "starting" | "finished" | "acked";
export type StoredResult = Omit<ExecResult, "type">;

export interface JournalEntry {
  id: string;
  state: JournalState;
  updatedAt: string;
  spec?: ExecutionSpecMessage;
  result?: StoredResult;
}

const KEEP_ACKED_MS = 7 * 86_400_000;

export class ExecutionJournal {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "executions");
  }

  async get(id: string): Promise<JournalEntry | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(id), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as JournalEntry;
    } catch {
      // Only an unflushed write can leave a torn file, and only `acked` is written unflushed: the
      // execution was done and its result acknowledged. Acked since the file was written (for prune).
      const { mtime } = await stat(this.path(id));
      return { id, state: "acked", updatedAt: mtime.toISOString() };
    }
  }

  async put(entry: Omit<JournalEntry, "updatedAt">): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const content = JSON.stringify({ ...entry, updatedAt: new Date().toISOString() });
    await writeFileAtomic(this.path(entry.id), content, 0o600, { flush: entry.state !== "acked" });
  }

  async all(): Promise<JournalEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const entries = await Promise.all(names.filter((n) => n.endsWith(".json")).map((n) => this.get(n.slice(0, -5))));
    return entries.filter((e): e is JournalEntry => e !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Drops acknowledged entries older than a week. */
  async prune(now = Date.now()): Promise<void> {
    for (const entry of await this.all()) {
      if (entry.state === "acked" && now - Date.parse(entry.updatedAt) > KEEP_ACKED_MS) await rm(this.path(entry.id), { force: true });
    }
  }

  /** Forgets every execution: they belong to a device this machine no longer is (reset, clone). */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private path(id: string): string {
    if (!/^exe_[0-9a-z]+$/.test(id)) throw new Error(`not an execution id: ${id}`);
    return join(this.dir, `${id}.json`);
  }
}
