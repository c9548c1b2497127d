import type { Execution } from "../domain/command.js";
import { duration, relativeTime, when } from "./format.js";
import { renderFields, renderTable, type Column } from "./table.js";
import { isFinal } from "./wait.js";

/** How executions (command results) read in `results list|get` and in `--wait` summaries. */

export const EXECUTION_COLUMNS: readonly Column<Execution>[] = [
  { header: "id", value: (e) => e.id },
  { header: "command", value: commandName },
  { header: "device", value: (e) => e.deviceId },
  { header: "status", value: (e) => e.status },
  { header: "exit", value: (e) => e.exitCode, align: "right" },
  { header: "requested", value: (e) => relativeTime(e.requestedAt) },
  { header: "duration", value: (e) => duration(e.durationMs), align: "right" },
];

const SUMMARY_COLUMNS: readonly Column<Execution>[] = [
  { header: "device", value: (e) => e.deviceId },
  { header: "status", value: (e) => e.status },
  { header: "exit code", value: (e) => e.exitCode, align: "right" },
  { header: "duration", value: (e) => duration(e.durationMs), align: "right" },
];

const ERROR_COLUMN: Column<Execution> = { header: "error", value: (e) => e.error };

/** After --wait: one row per device; the error column only when some execution has one. */
export function renderSummary(executions: readonly Execution[]): string {
  const columns = executions.some((e) => e.error) ? [...SUMMARY_COLUMNS, ERROR_COLUMN] : SUMMARY_COLUMNS;
  return renderTable(executions, columns);
}

/** Every field, then the output kept for each stream. */
export function renderExecution(execution: Execution, now: number = Date.now()): string {
  const e = execution;
  const fields = renderFields([
    ["ID", e.id],
    ["Run", e.runId],
    ["Command", e.commandId ? `${e.commandName ?? "-"} (${e.commandId})` : commandName(e)],
    ["Device", e.deviceId],
    ["Status", e.cancelRequested && !isFinal(e) ? `${e.status} (cancel requested)` : e.status],
    ["Exit code", e.exitCode],
    ["Error", e.error],
    ["Requested by", e.requestedBy],
    ["Requested", when(e.requestedAt, now)],
    ["Expires", e.sentAt ? null : when(e.expiresAt, now)],
    ["Sent", when(e.sentAt, now)],
    ["Started", when(e.startedAt, now)],
    ["Finished", when(e.finishedAt, now)],
    ["Duration", duration(e.durationMs)],
  ]);
  return [fields, outputBlock("stdout", e.stdout, e.stdoutTruncated), outputBlock("stderr", e.stderr, e.stderrTruncated)].join("\n\n");
}

function outputBlock(name: string, text: string | undefined, truncated: boolean): string {
  if (!text) return `--- ${name} (empty) ---`;
  const note = truncated ? " (truncated: only the end is kept)" : "";
  return `--- ${name}${note} ---\n${text.endsWith("\n") ? text.slice(0, -1) : text}`;
}

function commandName(e: Execution): string {
  return e.commandName ?? (e.commandId ? e.commandId : "(ad hoc)");
}
