import { z } from "zod";

/**
 * Command execution on the wire. The control plane stores an execution before sending it; the agent
 * journals its id before starting the process and keeps the result in an outbox until `exec.ack`, so
 * every execution runs at most once and every finished result arrives (see docs/commands.md).
 */

export const SHELLS = ["bash", "sh", "zsh", "powershell", "cmd"] as const;
export type Shell = (typeof SHELLS)[number];

const executionId = z.string().regex(/^exe_[0-9a-z]{10,64}$/, "an execution id looks like exe_…");
const iso = z.string().max(64);

export const ExecutionSpecSchema = z.object({
  executionId,
  script: z.string().max(1024 * 1024),
  shell: z.enum(SHELLS),
  /** `root` / `system`, or a local user name. */
  runAs: z.string().min(1).max(64),
  timeoutSeconds: z.number().int().positive().max(86_400),
  env: z.record(z.string(), z.string()),
  files: z.array(z.object({ path: z.string().min(1).max(4096), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() })).max(50),
  /** Per stream; the agent keeps the last bytes. */
  outputLimitBytes: z.number().int().positive(),
});
export type ExecutionSpecMessage = z.infer<typeof ExecutionSpecSchema>;

/** Server → agent: run this (the agent ignores an id it has seen before, and re-reports its state). */
export const ExecRunSchema = z.object({ type: z.literal("exec.run"), execution: ExecutionSpecSchema });
/** Server → agent: stop this execution if it runs (kill its process tree). */
export const ExecCancelSchema = z.object({ type: z.literal("exec.cancel"), executionId });
/** Server → agent: the result is stored; drop it from the outbox. */
export const ExecAckSchema = z.object({ type: z.literal("exec.ack"), executionId });

/** Agent → server: the process started (journaled before it did). */
export const ExecStartedSchema = z.object({ type: z.literal("exec.started"), executionId, startedAt: iso });
/** Agent → server: output as it arrives; best effort, the final result carries the kept tail. */
export const ExecOutputSchema = z.object({
  type: z.literal("exec.output"),
  executionId,
  stream: z.enum(["stdout", "stderr"]),
  chunk: z.string().max(256 * 1024),
});

export const FINAL_STATUSES = ["succeeded", "failed", "timed_out", "canceled", "interrupted", "error"] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Agent → server: the final result, re-sent from the outbox until acknowledged. */
export const ExecResultSchema = z.object({
  type: z.literal("exec.result"),
  executionId,
  status: z.enum(FINAL_STATUSES),
  /** 124 for timed_out; absent when no process ran or it was killed by a signal. */
  exitCode: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  startedAt: iso.nullable(),
  finishedAt: iso,
  /** Why it could not start or was interrupted; absent otherwise. */
  error: z.string().max(4096).nullable(),
});
export type ExecResult = z.infer<typeof ExecResultSchema>;
