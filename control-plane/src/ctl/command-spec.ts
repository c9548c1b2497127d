import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { ENV_NAME } from "../../../shared/src/names.js";
import { SHELLS, type Shell } from "../../../shared/src/protocol/commands.js";
import { COMMAND_OS, MAX_QUEUE_TTL_SECONDS, MAX_TIMEOUT_SECONDS, type CommandOs, type Launch } from "../domain/command.js";
import type { ApiClient } from "./api-client.js";
import { durationSeconds, usageError } from "./command.js";
import { groupId } from "./commands/device-groups.js";

/**
 * The flags that describe what a command runs, shared by `commands create`, `commands update` and
 * the ad-hoc `run`, and how they become a request body. Everything that can be checked without the
 * server is checked here, before any request, so a bad invocation exits 2 having changed nothing.
 */

/** A local file to upload and where the agent places it. */
export interface Attachment {
  local: string;
  dest: string;
}

export interface ScriptFlags {
  os?: CommandOs;
  script?: string;
  file?: string;
  shell?: Shell;
  runAs?: string;
  timeout?: number;
  ttl?: number;
  env?: Record<string, string>;
  device?: string[];
  group?: string[];
}

/** The saved-command flags on top of the script flags. */
export interface CommandFlags extends ScriptFlags {
  runner?: string[];
  schedule?: string;
  timezone?: string;
  at?: string;
  trigger?: string;
  manual?: boolean;
  parallel?: boolean;
  description?: string;
  attach?: Attachment[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--env K=V`, repeatable: the name must be a portable identifier; a later value for a name wins. */
export function parseEnv(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const equals = value.indexOf("=");
  if (equals < 0) throw new InvalidArgumentError("write it as NAME=VALUE.");
  const name = value.slice(0, equals);
  if (!ENV_NAME.test(name)) throw new InvalidArgumentError(`"${name}" is not a valid variable name (letters, digits and _, not starting with a digit).`);
  return { ...previous, [name]: value.slice(equals + 1) };
}

const ABSOLUTE = /^(\/|[A-Za-z]:[\\/])/;

/**
 * `--attach LOCAL:DEST`, repeatable. DEST is absolute (`/etc/app.conf` or `C:\app\app.conf`), so the
 * separator is the first colon followed by an absolute path, except that a one-letter LOCAL before
 * it is taken for a drive letter (`C:\files\a.conf:/etc/a.conf`) when a later colon also splits.
 */
export function parseAttach(value: string, previous: Attachment[] = []): Attachment[] {
  const splits: Attachment[] = [];
  for (let i = value.indexOf(":"); i >= 0; i = value.indexOf(":", i + 1)) {
    const local = value.slice(0, i);
    const dest = value.slice(i + 1);
    if (local !== "" && ABSOLUTE.test(dest)) splits.push({ local, dest });
  }
  const split = splits.find(({ local }) => !/^[A-Za-z]$/.test(local)) ?? splits[0];
  if (!split) throw new InvalidArgumentError("write it as LOCAL_PATH:DEST_PATH with an absolute DEST_PATH, e.g. ./app.conf:/etc/app.conf.");
  if (split.dest.split(/[\\/]/).includes("..")) throw new InvalidArgumentError(`the destination ${split.dest} must not contain "..".`);
  return [...previous, split];
}

/** Option parser for a duration (or bare seconds) of at most `max` seconds. */
export function secondsUpTo(max: number): (value: string) => number {
  return (value) => {
    const seconds = durationSeconds(value);
    if (seconds > max) throw new InvalidArgumentError(`must be at most ${max} seconds.`);
    return seconds;
  };
}

/** The options every script-running command takes: what runs, how, and on which devices. */
export function addScriptOptions(command: Command, options: { osRequired: boolean }): Command {
  const os = new Option("--os <os>", "the OS the script is for").choices(COMMAND_OS);
  return command
    .addOption(options.osRequired ? os.makeOptionMandatory() : os)
    .option("--script <text>", "the script itself")
    .option("--file <path>", "read the script from this file")
    .addOption(new Option("--shell <shell>", "the shell (linux/darwin: bash, sh, zsh; windows: powershell, cmd); a shebang line wins").choices(SHELLS))
    .option("--run-as <user>", 'run as this local user (default root; on Windows always "system")')
    .option("--timeout <duration>", `kill the script after this long, e.g. 120 or 5m (default 120s, at most ${MAX_TIMEOUT_SECONDS}s)`, secondsUpTo(MAX_TIMEOUT_SECONDS))
    .option("--ttl <duration>", "how long an execution may wait for an offline device, e.g. 24h (default 24h)", secondsUpTo(MAX_QUEUE_TTL_SECONDS))
    .option("--env <NAME=VALUE>", "an extra environment variable (repeat for more)", parseEnv)
    .option("--device <id>", "a target device (repeat for more)", collect)
    .option("--group <id-or-name>", "a target device group (repeat for more)", collect);
}

/** The saved-command options on top of the script options. */
export function addCommandOptions(command: Command, options: { forUpdate: boolean }): Command {
  const replaces = options.forUpdate ? " (replaces the current ones)" : "";
  addScriptOptions(command, { osRequired: !options.forUpdate });
  command
    .option("--runner <api-key-id>", `an API key with role command-runner that may run this command (repeat for more)${replaces}`, collect)
    .option("--schedule <cron>", "run on this cron schedule, e.g. '0 3 * * *'")
    .option("--timezone <tz>", "the schedule's time zone, e.g. Europe/Berlin (default UTC)")
    .option("--at <time>", "run once at this time, e.g. 2025-06-01T03:00:00Z")
    .option("--trigger <name>", "run when POST /api/v1/command-triggers/NAME is called")
    .option("--manual", "run only when asked to (the default for a new command)")
    .option("--parallel", "may run alongside other executions on a device (default: one at a time)");
  if (options.forUpdate) command.option("--no-parallel", "run one at a time on each device");
  return command
    .option("--description <text>", "what the command is for")
    .option("--attach <local:dest>", `upload a local file, placed at DEST on the device before the script starts (repeat for more)${replaces}`, parseAttach);
}

/**
 * The launch the flags ask for; undefined when they name none. At most one of --schedule, --at,
 * --trigger and --manual, and --timezone only with --schedule.
 */
export function launchOf(flags: Pick<CommandFlags, "schedule" | "timezone" | "at" | "trigger" | "manual">): Launch | undefined {
  const given = (["schedule", "at", "trigger", "manual"] as const).filter((name) => flags[name] !== undefined);
  if (given.length > 1) throw usageError(`give only one of --schedule, --at, --trigger and --manual (got ${given.map((name) => `--${name}`).join(" and ")})`);
  if (flags.timezone !== undefined && flags.schedule === undefined) throw usageError("--timezone goes with --schedule");
  if (flags.schedule !== undefined) return { type: "schedule", cron: flags.schedule, timezone: flags.timezone ?? "UTC" };
  if (flags.at !== undefined) {
    const at = Date.parse(flags.at);
    if (Number.isNaN(at)) throw usageError(`--at "${flags.at}" is not a time; write it like 2025-06-01T03:00:00Z`);
    return { type: "once", at: new Date(at).toISOString() };
  }
  if (flags.trigger !== undefined) return { type: "trigger", name: flags.trigger };
  return flags.manual ? { type: "manual" } : undefined;
}

/** The script from --script or --file (exactly one when `required`); undefined when neither is given. */
export function scriptOf(flags: Pick<ScriptFlags, "script" | "file">, required: boolean, read: (path: string) => string = readScript): string | undefined {
  if (flags.script !== undefined && flags.file !== undefined) throw usageError("give the script with --script or --file, not both");
  if (flags.file !== undefined) return read(flags.file);
  if (flags.script === undefined && required) throw usageError("give the script with --script TEXT or --file PATH");
  return flags.script;
}

function readScript(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw usageError(`cannot read the script file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * The body fields the script flags give directly, only those given (PATCH sends no more). Targets
 * and attachments need the server and are added by the caller.
 */
export function scriptFields(flags: ScriptFlags, script: string | undefined): Record<string, unknown> {
  return definedOnly({
    script,
    os: flags.os,
    shell: flags.shell,
    runAs: flags.runAs,
    timeoutSeconds: flags.timeout,
    queueTtlSeconds: flags.ttl,
    env: flags.env,
  });
}

/** scriptFields plus the saved-command fields. Throws a usage error for conflicting flags. */
export function commandFields(flags: CommandFlags, script: string | undefined): Record<string, unknown> {
  return definedOnly({
    ...scriptFields(flags, script),
    description: flags.description,
    launch: launchOf(flags),
    parallel: flags.parallel,
    runners: flags.runner,
  });
}

/** Group names become ids (the server takes only ids); devices are passed as given. */
export async function targetsOf(api: ApiClient, flags: Pick<ScriptFlags, "device" | "group">): Promise<{ devices: string[]; deviceGroups: string[] }> {
  const deviceGroups = [];
  for (const group of flags.group ?? []) deviceGroups.push(await groupId(api, group));
  return { devices: unique(flags.device ?? []), deviceGroups: unique(deviceGroups) };
}

interface UploadedFile {
  id: string;
  name: string;
  size: number;
  sha256: string;
}

/** Reads every attachment first (a missing file is a usage error and nothing is uploaded), then uploads each. */
export async function uploadAttachments(api: ApiClient, attachments: readonly Attachment[]): Promise<{ fileId: string; path: string }[]> {
  const contents = attachments.map(({ local }) => {
    try {
      return readFileSync(local);
    } catch (error) {
      throw usageError(`cannot read ${local} for --attach: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  });
  const files = [];
  for (const [i, { local, dest }] of attachments.entries()) {
    const file = await api.upload<UploadedFile>("/files", new URLSearchParams({ name: basename(local) }), contents[i]!);
    files.push({ fileId: file.id, path: dest });
  }
  return files;
}

export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function definedOnly(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
