import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { CliError } from "../../../shared/src/cli/run-cli.js";
import type { Execution } from "../domain/command.js";
import type { Page } from "../domain/list-query.js";
import type { ApiClient } from "./api-client.js";
import { durationSeconds, usageError } from "./command.js";
import { globalFlags, type CtlContext } from "./context.js";
import { renderSummary } from "./execution-view.js";
import { progressView, SILENT } from "./progress.js";
import { allPages, exitStatusOf, OutputFollower, progressOf, waitForRun, type WaitIo } from "./wait.js";

/** What POST /commands/{id}/run and POST /command-runs answer. */
export interface LaunchResult {
  runId: string;
  executions: Execution[];
  skipped: { deviceId: string; reason: string }[];
}

export interface WaitFlags {
  wait?: boolean;
  /** Seconds. */
  timeoutWait?: number;
}

const DEFAULT_WAIT_SECONDS = 600;

export function addWaitOptions(command: Command): Command {
  return command
    .option("--wait", "wait until every execution has finished, then summarise; exit 1 unless all succeeded")
    .option("--timeout-wait <duration>", "with --wait, stop waiting after this long, e.g. 30s or 1h (default 10m)", durationSeconds);
}

export function checkWaitFlags(flags: WaitFlags): void {
  if (flags.timeoutWait !== undefined && !flags.wait) throw usageError("--timeout-wait goes with --wait");
}

/** Without --wait: the run id, how many executions, and which devices were skipped and why. */
export function renderLaunch(launch: LaunchResult): string {
  const count = launch.executions.length;
  const lines = [`Started run ${launch.runId}: ${count} ${count === 1 ? "execution" : "executions"}`];
  for (const { deviceId, reason } of launch.skipped) lines.push(`Skipped ${deviceId}: ${reason}`);
  return lines.join("\n");
}

/** After a launch: print it, or with --wait follow it to the end and exit by its outcome. */
export async function reportLaunch(command: Command, { api, print }: CtlContext, launch: LaunchResult, flags: WaitFlags): Promise<void> {
  if (!flags.wait) {
    print(launch, renderLaunch);
    return;
  }
  const json = globalFlags(command).json === true;
  // stdout is for the outcome (and a single device's own output): the launch note goes to stderr.
  if (!json) process.stderr.write(`${renderLaunch(launch)}\n`);

  const single = launch.executions.length === 1;
  const follower = single && !json ? new OutputFollower({ stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }) : undefined;
  const outcome = await waitForRun(launch.runId, launch.executions, pollingIo(api), {
    deadline: Date.now() + (flags.timeoutWait ?? DEFAULT_WAIT_SECONDS) * 1000,
    progress: single ? SILENT : progressView(process.stderr, { json, label: launch.runId }),
    ...(follower ? { follow: (e: Execution) => follower.push(e) } : {}),
  });

  print({ ...launch, executions: outcome.executions, finished: outcome.finished }, (result) => {
    if (result.executions.length === 0) return "Nothing ran.";
    // The script's output may end mid-line; the table starts on a line of its own.
    return `${follower && !follower.endsWithNewline ? "\n" : ""}${renderSummary(result.executions)}`;
  });

  const { done, failures, total } = progressOf(outcome.executions);
  if (!outcome.finished) {
    throw new CliError(`stopped waiting: ${total - done} of ${total} executions not finished yet (they go on; see "tetherctl results list --run ${launch.runId}")`);
  }
  if (exitStatusOf(outcome.executions) !== 0) {
    throw new CliError(total === 0 ? "nothing ran: every target device was skipped" : `${failures} of ${total} ${total === 1 ? "execution" : "executions"} did not succeed`);
  }
}

/** The requests --wait makes: the run's executions page by page, or one execution with its output. */
function pollingIo(api: ApiClient): WaitIo {
  return {
    listRun: (runId) =>
      allPages((skip, limit) =>
        api.get<Page<Execution>>("/command-results", new URLSearchParams({ filter: `runId:eq:${runId}`, limit: String(limit), skip: String(skip) })),
      ),
    getOne: (id) => api.get<Execution>(`/command-results/${encodeURIComponent(id)}`),
    sleep: (ms) => sleep(ms),
    now: () => Date.now(),
  };
}
