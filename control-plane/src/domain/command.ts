import { z } from "zod";
import { ENV_NAME, isLocalUsername } from "../../../shared/src/names.js";
import { FINAL_STATUSES, SHELLS } from "../../../shared/src/protocol/commands.js";
import type { ListSpec } from "./list-query.js";

export const COMMAND_OS = ["linux", "darwin", "windows"] as const;
export type CommandOs = (typeof COMMAND_OS)[number];

export const SHELLS_BY_OS: Record<CommandOs, readonly (typeof SHELLS)[number][]> = {
  linux: ["bash", "sh", "zsh"],
  darwin: ["bash", "sh", "zsh"],
  windows: ["powershell", "cmd"],
};

export const DEFAULT_TIMEOUT_SECONDS = 120;
export const MAX_TIMEOUT_SECONDS = 86_400;
export const DEFAULT_QUEUE_TTL_SECONDS = 86_400;
export const MAX_QUEUE_TTL_SECONDS = 30 * 86_400;
export const OUTPUT_LIMIT_BYTES = 1024 * 1024;

const TriggerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, "letters, digits, '.', '_' or '-', starting with a letter or digit");

export const LaunchSchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("manual") }).strict(),
    z.object({ type: z.literal("schedule"), cron: z.string().min(1).max(200), timezone: z.string().min(1).max(64).default("UTC") }).strict(),
    z.object({ type: z.literal("once"), at: z.iso.datetime({ offset: true }) }).strict(),
    z.object({ type: z.literal("trigger"), name: TriggerName }).strict(),
  ])
  .meta({ id: "CommandLaunch" });
export type Launch = z.infer<typeof LaunchSchema>;

export const MAX_ENV_VARIABLES = 100;
export const MAX_ENV_VALUE_BYTES = 32_768;

const EnvSchema = z.record(z.string(), z.string().max(MAX_ENV_VALUE_BYTES)).superRefine((env, ctx) => {
  const names = Object.keys(env);
  if (names.length > MAX_ENV_VARIABLES) ctx.addIssue({ code: "custom", message: `at most ${MAX_ENV_VARIABLES} environment variables` });
  for (const name of names) {
    if (!ENV_NAME.test(name)) ctx.addIssue({ code: "custom", path: [name], message: `"${name}" is not a valid variable name: use letters, digits and _, not starting with a digit` });
  }
});

const TargetsSchema = z
  .object({
    devices: z.array(z.string().min(1).max(64)).max(10_000).default([]),
    deviceGroups: z.array(z.string().min(1).max(64)).max(1000).default([]),
  })
  .strict();

const FileRefSchema = z
  .object({
    fileId: z.string().min(1).max(64),
    /** Absolute path on the device where the file is placed before the script starts. */
    path: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => (p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p)) && !p.split(/[\\/]/).includes(".."), "must be an absolute path without '..'"),
  })
  .strict();

/** Fields shared by saved commands and ad-hoc runs. */
const ExecutionFields = {
  script: z.string().min(1).max(1024 * 1024),
  os: z.enum(COMMAND_OS),
  shell: z.enum(SHELLS).optional(),
  runAs: z.string().min(1).max(32).optional(),
  timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).default(DEFAULT_TIMEOUT_SECONDS),
  queueTtlSeconds: z.number().int().min(1).max(MAX_QUEUE_TTL_SECONDS).default(DEFAULT_QUEUE_TTL_SECONDS),
  env: EnvSchema.default({}),
  files: z.array(FileRefSchema).max(50).default([]),
  parallel: z.boolean().default(false),
};

/** Checks the OS-dependent rules (shell and run-as user) and fills their defaults. */
export function withOsDefaults<T extends { os: CommandOs; shell?: string | undefined; runAs?: string | undefined }>(
  value: T,
  ctx: z.RefinementCtx,
): T & { shell: (typeof SHELLS)[number]; runAs: string } {
  const shells = SHELLS_BY_OS[value.os];
  const shell = (value.shell ?? shells[0]) as (typeof SHELLS)[number];
  if (!shells.includes(shell)) {
    ctx.addIssue({ code: "custom", path: ["shell"], message: `shell "${shell}" does not run on ${value.os}; use one of ${shells.join(", ")}` });
  }
  const runAs = value.runAs ?? (value.os === "windows" ? "system" : "root");
  if (value.os === "windows" && runAs !== "system") {
    ctx.addIssue({ code: "custom", path: ["runAs"], message: 'Windows commands run as "system"' });
  } else if (value.os !== "windows" && runAs === "system") {
    ctx.addIssue({ code: "custom", path: ["runAs"], message: `"system" is for Windows commands; on ${value.os} use root or a local user name` });
  } else if (value.os !== "windows" && runAs !== "root" && !isLocalUsername(runAs)) {
    ctx.addIssue({ code: "custom", path: ["runAs"], message: `"${runAs}" is not a valid local user name` });
  }
  return { ...value, shell, runAs };
}

export const CreateCommandSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(""),
    ...ExecutionFields,
    launch: LaunchSchema.default({ type: "manual" }),
    targets: TargetsSchema.default({ devices: [], deviceGroups: [] }),
    runners: z.array(z.string().min(1).max(64)).max(100).default([]),
  })
  .strict()
  .transform((value, ctx) => withOsDefaults(value, ctx))
  .meta({ id: "CreateCommand" });
export type CreateCommand = z.output<typeof CreateCommandSchema>;

/** PATCH: every field optional; the merged result is validated as a whole by the service. */
export const UpdateCommandSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000),
    script: ExecutionFields.script,
    os: ExecutionFields.os,
    shell: z.enum(SHELLS),
    runAs: z.string().min(1).max(32),
    timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS),
    queueTtlSeconds: z.number().int().min(1).max(MAX_QUEUE_TTL_SECONDS),
    env: EnvSchema,
    files: z.array(FileRefSchema).max(50),
    parallel: z.boolean(),
    launch: LaunchSchema,
    targets: TargetsSchema,
    runners: z.array(z.string().min(1).max(64)).max(100),
  })
  .partial()
  .strict()
  .meta({ id: "UpdateCommand" });

export const AdHocRunSchema = z
  .object({
    ...ExecutionFields,
    name: z.string().trim().max(200).optional(),
    targets: TargetsSchema,
  })
  .strict()
  .transform((value, ctx) => withOsDefaults(value, ctx))
  .meta({ id: "AdHocRun" });
export type AdHocRun = z.output<typeof AdHocRunSchema>;

export const RunCommandSchema = z
  .object({
    /** Narrow the run to these of the command's target devices. Absent: all targets. */
    deviceIds: z.array(z.string().min(1).max(64)).min(1).max(10_000).optional(),
  })
  .strict()
  .meta({ id: "RunCommand" });

export const CommandFileSchema = z.object({ fileId: z.string(), path: z.string(), name: z.string(), size: z.number().int(), sha256: z.string() });

export const CommandSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    script: z.string(),
    os: z.enum(COMMAND_OS),
    shell: z.enum(SHELLS),
    runAs: z.string(),
    timeoutSeconds: z.number().int(),
    queueTtlSeconds: z.number().int(),
    env: z.record(z.string(), z.string()),
    parallel: z.boolean(),
    files: z.array(CommandFileSchema),
    launch: LaunchSchema,
    targets: z.object({ devices: z.array(z.string()), deviceGroups: z.array(z.string()) }),
    runners: z.array(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Command" });
export type Command = z.infer<typeof CommandSchema>;

export const EXECUTION_STATUSES = ["queued", "sent", "running", ...FINAL_STATUSES, "expired"] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ["queued", "sent", "running"];

export const ExecutionSchema = z
  .object({
    id: z.string(),
    runId: z.string(),
    commandId: z.string().nullable(),
    commandName: z.string().nullable(),
    deviceId: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    exitCode: z.number().int().nullable(),
    /** Absent in lists; in a single result, the kept tail (live while running). */
    stdout: z.string().optional(),
    stderr: z.string().optional(),
    stdoutTruncated: z.boolean(),
    stderrTruncated: z.boolean(),
    error: z.string().nullable(),
    requestedBy: z.string().nullable(),
    requestedAt: z.string(),
    expiresAt: z.string(),
    sentAt: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    cancelRequested: z.boolean(),
  })
  .meta({ id: "CommandResult" });
export type Execution = z.infer<typeof ExecutionSchema>;

export const COMMAND_LIST: ListSpec = {
  idColumn: "id",
  fields: {
    name: { column: "name", sortable: true, filterable: true },
    os: { column: "os", sortable: true, filterable: true, values: COMMAND_OS },
    createdAt: { column: "created_at", sortable: true, filterable: true },
  },
};

export const EXECUTION_LIST: ListSpec = {
  idColumn: "id",
  defaultSort: [{ field: "requestedAt", descending: true }],
  fields: {
    commandId: { column: "command_id", filterable: true },
    deviceId: { column: "device_id", filterable: true },
    runId: { column: "run_id", filterable: true },
    status: { column: "status", sortable: true, filterable: true, values: EXECUTION_STATUSES },
    requestedAt: { column: "requested_at", sortable: true, filterable: true },
    finishedAt: { column: "finished_at", sortable: true, filterable: true },
  },
};
