import type { Logger } from "pino";
import type { ExecResult } from "../../../shared/src/protocol/commands.js";
import { OUTPUT_LIMIT_BYTES, type Execution } from "../domain/command.js";
import type { Stores } from "../store/index.js";
import type { Dispatcher } from "./dispatcher.js";
import { OutputTail } from "./output-tail.js";
import { TickBatch } from "./tick-batch.js";

type Report =
  | { kind: "started"; deviceId: string; executionId: string; startedAt: string }
  | { kind: "output"; deviceId: string; executionId: string; stream: "stdout" | "stderr"; chunk: string }
  | { kind: "result"; deviceId: string; result: ExecResult };

/** What writing a report changed: `started` — whether it runs now; `result` — whether it was stored, and whether to ack. */
interface Written {
  running?: boolean;
  stored?: boolean;
  ack?: boolean;
}

interface Pending {
  report: Report;
  settle?: { resolve: (written: Written) => void; reject: (error: unknown) => void };
}

/**
 * What agents report about executions: started, live output, result. Reports are applied in the
 * order they arrived, batched per event-loop turn into one transaction, so thousands of agents
 * answering one fan-out cost a few commits, not one each. A result is acknowledged only after its
 * transaction committed; it is written once per execution id (a re-sent duplicate changes nothing
 * and is acknowledged again), and never into another device's execution.
 */
export class ExecutionReports {
  private readonly live = new Map<string, { deviceId: string; stdout: OutputTail; stderr: OutputTail }>();
  // Output goes through the same queue as `started`, or a chunk that arrives right behind its
  // `started` would find no live view yet and be dropped.
  private readonly queue = new TickBatch<Pending>((batch) => this.apply(batch));

  constructor(
    private readonly stores: Stores,
    private readonly dispatcher: Dispatcher,
    private readonly logger: Logger,
  ) {}

  started(deviceId: string, executionId: string, startedAt: string): Promise<void> {
    return this.enqueue({ kind: "started", deviceId, executionId, startedAt }).then(() => undefined);
  }

  /** Live output, from the device the execution runs on only; best effort, never stored. */
  output(deviceId: string, executionId: string, stream: "stdout" | "stderr", chunk: string): void {
    this.queue.add({ report: { kind: "output", deviceId, executionId, stream, chunk } });
  }

  /** Resolves, once stored, with whether to acknowledge it (the execution is this device's). */
  result(deviceId: string, result: ExecResult): Promise<boolean> {
    return this.enqueue({ kind: "result", deviceId, result }).then((written) => written.ack === true);
  }

  /** The execution with the output streamed so far, while it runs. */
  withLiveOutput(execution: Execution): Execution {
    const live = this.live.get(execution.id);
    if (!live || execution.status !== "running") return execution;
    return { ...execution, stdout: live.stdout.text(), stderr: live.stderr.text(), stdoutTruncated: live.stdout.truncated, stderrTruncated: live.stderr.truncated };
  }

  /** Applies what waits and refuses later reports (before the database closes; agents re-send unacknowledged results). */
  close(): void {
    this.queue.close();
  }

  private enqueue(report: Report): Promise<Written> {
    return new Promise((resolve, reject) => {
      if (!this.queue.add({ report, settle: { resolve, reject } })) reject(new Error("the control plane is stopping"));
    });
  }

  private apply(batch: Pending[]): void {
    let written: (Written | { error: unknown })[];
    try {
      written = this.stores.transaction(() => batch.map((p) => this.write(p.report)));
    } catch {
      // One report that cannot be written must not fail the rest of the batch: write each alone.
      written = batch.map((p) => {
        try {
          return this.stores.transaction(() => this.write(p.report));
        } catch (error) {
          return { error };
        }
      });
    }
    const finishedOn = new Set<string>();
    batch.forEach(({ report, settle }, i) => {
      const outcome = written[i]!;
      if ("error" in outcome) {
        settle?.reject(outcome.error);
        return;
      }
      this.updateLive(report, outcome);
      if (outcome.stored) finishedOn.add(report.deviceId);
      settle?.resolve(outcome);
    });
    try {
      this.dispatcher.kick(finishedOn);
    } catch (error) {
      this.logger.error({ err: error, devices: finishedOn.size }, "could not dispatch after stored results");
    }
  }

  /** The database side of a report; runs inside the batch's transaction. */
  private write(report: Report): Written {
    const executions = this.stores.executions;
    switch (report.kind) {
      case "started":
        return { running: executions.markStarted(report.executionId, report.deviceId, report.startedAt) };
      case "output":
        return {};
      case "result": {
        const { type: _type, executionId, ...fields } = report.result;
        const stored = executions.finish(executionId, report.deviceId, fields);
        return { stored, ack: stored || executions.deviceOf(executionId) === report.deviceId };
      }
    }
  }

  /** The in-memory side, after the commit, in arrival order. */
  private updateLive(report: Report, written: Written): void {
    switch (report.kind) {
      case "started":
        if (written.running) this.live.set(report.executionId, { deviceId: report.deviceId, stdout: new OutputTail(OUTPUT_LIMIT_BYTES), stderr: new OutputTail(OUTPUT_LIMIT_BYTES) });
        return;
      case "output": {
        const live = this.live.get(report.executionId);
        if (live?.deviceId === report.deviceId) live[report.stream].append(report.chunk);
        return;
      }
      case "result":
        if (written.stored) this.live.delete(report.result.executionId);
    }
  }
}
