import { FINAL_STATUSES } from "../../../shared/src/protocol/commands.js";
import type { Execution, ExecutionStatus } from "../domain/command.js";
import type { Page } from "../domain/list-query.js";

/**
 * `--wait`: polling a run's executions until each is final. The decisions are pure functions over
 * result pages; the loop gets its requests, clock and sleep injected so tests feed it canned pages.
 */

/** The statuses an execution never leaves. */
export const FINAL: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>([...FINAL_STATUSES, "expired"]);

export const POLL_INTERVAL_MS = 500;
/** The server's largest page. */
export const PAGE_LIMIT = 1000;

export function isFinal(execution: Pick<Execution, "status">): boolean {
  return FINAL.has(execution.status);
}

export interface Progress {
  total: number;
  /** Executions in a final status. */
  done: number;
  /** Final and not succeeded. */
  failures: number;
}

export function progressOf(executions: readonly Pick<Execution, "status">[], total: number = executions.length): Progress {
  const final = executions.filter(isFinal);
  return { total, done: final.length, failures: final.filter((e) => e.status !== "succeeded").length };
}

/** Every final and none missing: a run's list can lag its launch by nothing, but a page may be short. */
export function allFinal(executions: readonly Pick<Execution, "status">[], total: number): boolean {
  return executions.length >= total && executions.every(isFinal);
}

/** 0 only when there was something to run and every execution succeeded. */
export function exitStatusOf(executions: readonly Pick<Execution, "status">[]): 0 | 1 {
  return executions.length > 0 && executions.every((e) => e.status === "succeeded") ? 0 : 1;
}

/** Every page of a list, `PAGE_LIMIT` at a time, until `totalCount` is reached or a page comes back empty. */
export async function allPages<T>(fetchPage: (skip: number, limit: number) => Promise<Page<T>>): Promise<T[]> {
  const results: T[] = [];
  for (;;) {
    const page = await fetchPage(results.length, PAGE_LIMIT);
    results.push(...page.results);
    if (page.results.length === 0 || results.length >= page.totalCount) return results;
  }
}

/**
 * The part of `current` not yet printed when `previous` was. Output is kept as a capped tail, so once
 * it passes the cap the start of `current` is no longer the start of `previous`: then the new part
 * follows the longest end of `previous` that `current` begins with (found in linear time, as KMP's
 * failure function does). No overlap at all means everything printed has scrolled out of the tail:
 * all of `current` is new.
 */
export function newOutput(previous: string, current: string): string {
  if (current.startsWith(previous)) return current.slice(previous.length);
  return current.slice(overlap(previous, current));
}

/** The length of the longest suffix of `a` that is a prefix of `b`. */
function overlap(a: string, b: string): number {
  if (a === "" || b === "") return 0;
  // Only the last |b| characters of a can overlap b.
  const tail = a.length > b.length ? a.slice(a.length - b.length) : a;
  const failure = new Int32Array(b.length);
  for (let i = 1, k = 0; i < b.length; i++) {
    while (k > 0 && b.charCodeAt(i) !== b.charCodeAt(k)) k = failure[k - 1]!;
    if (b.charCodeAt(i) === b.charCodeAt(k)) k++;
    failure[i] = k;
  }
  // UTF-16 units throughout, like the slices: a code point split by the cap still lines up.
  let matched = 0;
  for (let i = 0; i < tail.length; i++) {
    const unit = tail.charCodeAt(i);
    while (matched > 0 && (matched === b.length || unit !== b.charCodeAt(matched))) matched = failure[matched - 1]!;
    if (unit === b.charCodeAt(matched)) matched++;
  }
  return matched;
}

/** Prints an execution's output as it grows: only the new part of stdout and stderr each time. */
export class OutputFollower {
  private stdout = "";
  private stderr = "";
  /** Whether the last character written to stdout was a newline (or nothing was written). */
  endsWithNewline = true;

  constructor(private readonly write: { stdout(text: string): void; stderr(text: string): void }) {}

  push(execution: Pick<Execution, "stdout" | "stderr">): void {
    const stdout = execution.stdout ?? "";
    const stderr = execution.stderr ?? "";
    const newStdout = newOutput(this.stdout, stdout);
    const newStderr = newOutput(this.stderr, stderr);
    this.stdout = stdout;
    this.stderr = stderr;
    if (newStdout !== "") {
      this.write.stdout(newStdout);
      this.endsWithNewline = newStdout.endsWith("\n");
    }
    if (newStderr !== "") this.write.stderr(newStderr);
  }
}

/** Where waiting reports how far it got: a progress bar, progress lines, or nothing. */
export interface ProgressView {
  update(progress: Progress): void;
  stop(): void;
}

export interface WaitIo {
  /** Every execution of the run (all pages of GET /command-results?filter=runId:eq:RUN). */
  listRun(runId: string): Promise<Execution[]>;
  /** One execution with its output (GET /command-results/{id}). */
  getOne(id: string): Promise<Execution>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export interface WaitOptions {
  /** Stop waiting at this time (ms since the epoch), finished or not. */
  deadline: number;
  progress: ProgressView;
  /** With exactly one execution: called with each poll of it, to print its output live. */
  follow?: (execution: Execution) => void;
  intervalMs?: number;
}

export interface WaitOutcome {
  /** The last state seen of each execution; with one execution, with its output. */
  executions: Execution[];
  /** False when the deadline came first. */
  finished: boolean;
}

/**
 * Polls until every execution of the run is final or the deadline passes. One execution is polled
 * on its own (GET …/{id}), which also brings its output; more are polled as the run's list.
 */
export async function waitForRun(runId: string, launched: readonly Execution[], io: WaitIo, options: WaitOptions): Promise<WaitOutcome> {
  const total = launched.length;
  const interval = options.intervalMs ?? POLL_INTERVAL_MS;
  let executions = [...launched];
  try {
    for (;;) {
      if (total === 1) {
        const one = await io.getOne(launched[0]!.id);
        options.follow?.(one);
        executions = [one];
      } else if (total > 1) {
        executions = mergeByLaunch(launched, await io.listRun(runId));
      }
      options.progress.update(progressOf(executions, total));
      if (allFinal(executions, total)) return { executions, finished: true };
      if (io.now() + interval > options.deadline) return { executions, finished: false };
      await io.sleep(interval);
    }
  } finally {
    options.progress.stop();
  }
}

/** The listed state of each launched execution, in launch order; one missing from the list keeps its last known state. */
export function mergeByLaunch(launched: readonly Execution[], listed: readonly Execution[]): Execution[] {
  const byId = new Map(listed.map((e) => [e.id, e]));
  return launched.map((e) => byId.get(e.id) ?? e);
}
