import type { Logger } from "pino";
import type { ExecutionSpecMessage } from "../../../shared/src/protocol/commands.js";
import { MAX_MESSAGE_BYTES } from "../../../shared/src/protocol/messages.js";
import type { MessageSink } from "../connection/client.js";
import { executionMarker } from "../executor/run-execution.js";
import type { ExecutionOutcome, RunHooks, ScriptHost } from "../executor/types.js";
import type { ExecutionJournal} from "./journal.js";
import { type StoredResult } from "./journal.js";
import { OutputBatcher } from "./output-batcher.js";

export type RunExecution = (spec: ExecutionSpecMessage, hooks: RunHooks, host: ScriptHost) => Promise<ExecutionOutcome>;

export interface CommandHandlerOptions {
  journal: ExecutionJournal;
  host: ScriptHost;
  run: RunExecution;
  fetchFile: (sha256: string) => Promise<Buffer>;
  logger: Logger;
}

/**
 * The agent's side of exactly-once execution: journal before start, result in the outbox until
 * acknowledged, duplicates re-reported instead of re-run, and anything that was running when the
 * agent died reported as `interrupted`.
 */
export class CommandHandler {
  private sink: MessageSink | undefined;
  private readonly running = new Map<string, AbortController>();
  /** Cancels that arrived before their execution was running (while it was being journaled). */
  private readonly canceledEarly = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * Results sent as soon as their outcome was known, before being journaled as finished: the server
   * then stores them while the agent flushes. That is no weaker: until `finished` is on disk the entry
   * says `starting`, so a crash in between reports `interrupted`, which the server ignores when it has
   * the result already (results are written once per execution id).
   */
  private readonly sentEarly = new Set<string>();
  /** Acknowledgements that overtook the `finished` entry of a result sent early. */
  private readonly ackedEarly = new Set<string>();

  constructor(private readonly options: CommandHandlerOptions) {}

  /** At start-up: whatever was starting or running when the agent stopped is interrupted, never re-run. */
  async recover(): Promise<void> {
    for (const entry of await this.options.journal.all()) {
      if (entry.state !== "starting") continue;
      // Whatever it started may still run (the agent died, not its children): stop it for good.
      await this.options.host.leftovers?.(executionMarker(entry.id))?.signal("SIGKILL");
      await this.finish(entry.id, {
        executionId: entry.id,
        status: "interrupted",
        exitCode: null,
        stdout: "",
        stderr: "",
        stdoutTruncated: false,
        stderrTruncated: false,
        startedAt: null,
        finishedAt: new Date().toISOString(),
        error: "the agent stopped while this execution ran; what it left running was stopped, and it was not started again",
      });
      this.options.logger.warn({ executionId: entry.id }, "execution interrupted by an agent restart");
    }
    await this.options.journal.prune();
  }

  /** After each welcome: send every result the control plane has not acknowledged yet. */
  async onWelcome(sink: MessageSink): Promise<void> {
    this.sink = sink;
    for (const entry of await this.options.journal.all()) {
      if (entry.state === "finished" && entry.result) this.sendResult(entry.result);
    }
  }

  onRun(spec: ExecutionSpecMessage): Promise<void> {
    return this.locked(spec.executionId, async () => {
      const entry = await this.options.journal.get(spec.executionId);
      if (entry?.state === "finished" && entry.result) return this.sendResult(entry.result);
      if (entry?.state === "starting" || entry?.state === "acked") {
        this.options.logger.debug({ executionId: spec.executionId, state: entry.state }, "duplicate delivery ignored");
        return;
      }
      // Journaled as starting before the process exists: a crash from here on means "interrupted". The
      // runner prepares (script directory, attachments) while the entry is flushed and starts the
      // process only after; the lock is held until then, so a duplicate delivery finds the entry.
      const journaled = this.options.journal.put({ id: spec.executionId, state: "starting", spec });
      void this.execute(spec, journaled);
      await journaled;
    });
  }

  onCancel(executionId: string): void {
    const controller = this.running.get(executionId);
    if (controller) controller.abort();
    else this.canceledEarly.add(executionId);
  }

  onAck(executionId: string): Promise<void> {
    return this.locked(executionId, async () => {
      const entry = await this.options.journal.get(executionId);
      if (entry?.state === "finished") await this.options.journal.put({ id: executionId, state: "acked" });
      else if (this.sentEarly.has(executionId)) this.ackedEarly.add(executionId);
    });
  }

  /** Resolves when nothing runs any more (for a clean stop). */
  get busy(): number {
    return this.running.size;
  }

  private async execute(spec: ExecutionSpecMessage, journaled: Promise<void>): Promise<void> {
    const controller = new AbortController();
    // Aborted before it starts, the runner runs nothing and reports "canceled".
    if (this.canceledEarly.delete(spec.executionId)) controller.abort();
    this.running.set(spec.executionId, controller);
    const batcher = new OutputBatcher((stream, chunk) => this.sink?.send({ type: "exec.output", executionId: spec.executionId, stream, chunk }));
    this.options.logger.info({ executionId: spec.executionId, shell: spec.shell, runAs: spec.runAs }, "execution starting");
    const outcome = await this.options.run(
      spec,
      {
        signal: controller.signal,
        onStarted: () => this.sink?.send({ type: "exec.started", executionId: spec.executionId, startedAt: new Date().toISOString() }),
        onOutput: (stream, chunk) => batcher.add(stream, chunk),
        fetchFile: this.options.fetchFile,
        mayStart: journaled,
        onOutcome: (early) => {
          batcher.flush();
          this.sentEarly.add(spec.executionId);
          this.sendResult({ executionId: spec.executionId, ...early });
        },
      },
      this.options.host,
    );
    batcher.flush();
    this.running.delete(spec.executionId);
    await this.locked(spec.executionId, () => this.finish(spec.executionId, { executionId: spec.executionId, ...outcome }));
    this.options.logger.info({ executionId: spec.executionId, status: outcome.status, exitCode: outcome.exitCode }, "execution finished");
  }

  private async finish(id: string, result: StoredResult): Promise<void> {
    this.canceledEarly.delete(id);
    const sent = this.sentEarly.delete(id);
    if (this.ackedEarly.delete(id)) {
      await this.options.journal.put({ id, state: "acked" });
      return;
    }
    await this.options.journal.put({ id, state: "finished", result });
    if (!sent) this.sendResult(result);
  }

  private sendResult(result: StoredResult): void {
    this.sink?.send({ type: "exec.result", ...fitFrame(result) });
  }

  /** Runs `fn` after whatever else is running for the same execution id. */
  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(id, next);
    void next.finally(() => {
      if (this.locks.get(id) === next) this.locks.delete(id);
    });
    return next;
  }
}

/**
 * Output is capped in bytes, but JSON escaping can make a frame several times larger (control
 * characters become six bytes each). If the result would not fit one frame, keep less of the tail.
 */
export function fitFrame(result: StoredResult, maxBytes = MAX_MESSAGE_BYTES - 64 * 1024): StoredResult {
  let fitted = result;
  for (let size = Buffer.byteLength(JSON.stringify(fitted)); size > maxBytes; size = Buffer.byteLength(JSON.stringify(fitted))) {
    const keep = (text: string) => text.slice(Math.floor(text.length / 2));
    fitted = {
      ...fitted,
      stdout: keep(fitted.stdout),
      stderr: keep(fitted.stderr),
      stdoutTruncated: fitted.stdoutTruncated || fitted.stdout.length > 0,
      stderrTruncated: fitted.stderrTruncated || fitted.stderr.length > 0,
    };
  }
  return fitted;
}
