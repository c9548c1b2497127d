import { Cron } from "croner";
import { ENV_NAME } from "../../../shared/src/names.js";
import type { Actor, RequestContext } from "../domain/actor.js";
import { CreateCommandSchema, MAX_ENV_VALUE_BYTES, MAX_ENV_VARIABLES, type AdHocRun, type Command, type CreateCommand, type Launch } from "../domain/command.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { ConflictError, NotFoundError, ValidationError, type FieldProblem } from "../errors.js";
import { newId } from "../ids.js";
import type { CommandRecord } from "../store/commands.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import { requireRunner, runnerScope, type ExecutionService, type LaunchResult, type RunSpec } from "./executions.js";

/** Told when a command's launch may have changed, so schedules follow edits at once. */
export interface ScheduleListener {
  changed(commandId: string): void;
}

/**
 * Saved commands: validation beyond the schema (targets, runners and files exist; cron and time zone
 * parse; names and trigger names unique), runs, triggers and ad-hoc runs.
 */
export class CommandService {
  private schedule: ScheduleListener | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly executions: ExecutionService,
  ) {}

  onScheduleChange(listener: ScheduleListener): void {
    this.schedule = listener;
  }

  list(query: ListQuery, actor: Actor): Page<Command> {
    return this.stores.commands.list(query, runnerScope(actor));
  }

  get(id: string, actor: Actor): Command {
    const command = this.stores.commands.get(id) ?? this.byName(id);
    if (!command) throw new NotFoundError("command", id);
    requireRunner(this.stores, actor, command.id);
    return command;
  }

  create(ctx: RequestContext, input: CreateCommand): Command {
    const command = this.stores.transaction(() => {
      const record: CommandRecord = { ...input, id: newId("cmd", ctx.now.getTime()), createdAt: ctx.now.toISOString(), updatedAt: ctx.now.toISOString() };
      this.check(record, undefined);
      this.stores.commands.insert(record);
      audit(this.stores.events, ctx, { action: "command.created", objectType: "command", objectId: record.id, details: { name: record.name, launch: record.launch } });
      return this.stores.commands.get(record.id)!;
    });
    this.schedule?.changed(command.id);
    return command;
  }

  /** PATCH semantics: fields not given keep their value; the merged command is validated whole. */
  update(ctx: RequestContext, id: string, patch: Record<string, unknown>): Command {
    const command = this.stores.transaction(() => {
      const current = this.get(id, ctx.actor);
      const merged = { ...current, ...patch, files: (patch.files as CommandRecord["files"] | undefined) ?? current.files.map(({ fileId, path }) => ({ fileId, path })) };
      if (patch.os !== undefined && patch.shell === undefined && patch.os !== current.os) delete (merged as Partial<Command>).shell;
      if (patch.os !== undefined && patch.runAs === undefined && patch.os !== current.os) delete (merged as Partial<Command>).runAs;
      const { id: _id, createdAt, updatedAt: _u, ...fields } = merged;
      const parsed = CreateCommandSchema.safeParse(fields);
      if (!parsed.success) {
        const details = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "body", reason: i.message }));
        throw new ValidationError(`${details[0]!.field}: ${details[0]!.reason}`, details);
      }
      const record: CommandRecord = { ...parsed.data, id: current.id, createdAt, updatedAt: ctx.now.toISOString() };
      this.check(record, current.id);
      this.stores.commands.update(record);
      audit(this.stores.events, ctx, { action: "command.updated", objectType: "command", objectId: current.id, details: { fields: Object.keys(patch) } });
      return this.stores.commands.get(current.id)!;
    });
    this.schedule?.changed(command.id);
    return command;
  }

  delete(ctx: RequestContext, id: string): void {
    const command = this.get(id, ctx.actor);
    this.stores.transaction(() => {
      this.stores.commands.delete(command.id);
      audit(this.stores.events, ctx, { action: "command.deleted", objectType: "command", objectId: command.id, details: { name: command.name } });
    });
    this.schedule?.changed(command.id);
  }

  run(ctx: RequestContext, id: string, deviceIds?: string[], extraEnv: Record<string, string> = {}): LaunchResult {
    const command = this.get(id, ctx.actor);
    return this.executions.launch(ctx, this.specOf(command, extraEnv), deviceIds);
  }

  runAdHoc(ctx: RequestContext, input: AdHocRun): LaunchResult {
    this.checkTargets(input.targets, []);
    const files = this.resolveFiles(input.files);
    return this.executions.launch(ctx, {
      commandId: null,
      name: input.name ?? null,
      script: input.script,
      os: input.os,
      shell: input.shell,
      runAs: input.runAs,
      timeoutSeconds: input.timeoutSeconds,
      queueTtlSeconds: input.queueTtlSeconds,
      env: input.env,
      files,
      parallel: input.parallel,
      targets: input.targets,
    });
  }

  /** `POST /command-triggers/{name}`: the body's top-level keys become environment variables. */
  trigger(ctx: RequestContext, name: string, body: Record<string, unknown>): LaunchResult {
    const id = this.stores.commands.idByTrigger(name);
    if (!id) throw new NotFoundError("command trigger", name);
    const env: Record<string, string> = {};
    const problems: FieldProblem[] = [];
    if (Object.keys(body).length > MAX_ENV_VARIABLES) throw ValidationError.field("body", `at most ${MAX_ENV_VARIABLES} keys`);
    for (const [key, value] of Object.entries(body)) {
      if (!ENV_NAME.test(key)) problems.push({ field: key, reason: "is not a valid environment variable name (letters, digits and _, not starting with a digit)" });
      else env[key] = typeof value === "string" ? value : JSON.stringify(value);
      if (Buffer.byteLength(env[key] ?? "") > MAX_ENV_VALUE_BYTES) problems.push({ field: key, reason: `is longer than ${MAX_ENV_VALUE_BYTES} bytes` });
    }
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.field} ${problems[0]!.reason}`, problems);
    return this.run(ctx, id, undefined, env);
  }

  /** For the scheduler: run a saved command as the system. */
  specOf(command: Command, extraEnv: Record<string, string> = {}): RunSpec {
    return {
      commandId: command.id,
      name: command.name,
      script: command.script,
      os: command.os,
      shell: command.shell,
      runAs: command.runAs,
      timeoutSeconds: command.timeoutSeconds,
      queueTtlSeconds: command.queueTtlSeconds,
      env: { ...command.env, ...extraEnv },
      files: command.files.map(({ path, sha256, size }) => ({ path, sha256, size })),
      parallel: command.parallel,
      targets: command.targets,
    };
  }

  private byName(name: string): Command | undefined {
    const id = this.stores.commands.idByName(name);
    return id ? this.stores.commands.get(id) : undefined;
  }

  private check(record: CommandRecord, selfId: string | undefined): void {
    const nameOwner = this.stores.commands.idByName(record.name);
    if (nameOwner && nameOwner !== selfId) throw new ConflictError(`a command named "${record.name}" already exists`, [{ field: "name", reason: "already in use" }]);
    if (record.launch.type === "trigger") {
      const owner = this.stores.commands.idByTrigger(record.launch.name);
      if (owner && owner !== selfId) throw new ConflictError(`the trigger "${record.launch.name}" is already used by another command`, [{ field: "launch.name", reason: "already in use" }]);
    }
    checkLaunch(record.launch);
    this.checkTargets(record.targets, record.runners);
    this.resolveFiles(record.files);
  }

  private checkTargets(targets: { devices: string[]; deviceGroups: string[] }, runners: string[]): void {
    const problems: FieldProblem[] = [];
    const known = this.stores.devices.existing(targets.devices);
    for (const id of targets.devices) if (!known.has(id)) problems.push({ field: "targets.devices", reason: `no device with id "${id}"` });
    for (const id of targets.deviceGroups) if (!this.stores.deviceGroups.get(id)) problems.push({ field: "targets.deviceGroups", reason: `no device group with id "${id}"` });
    for (const id of runners) {
      const key = this.stores.apiKeys.get(id);
      if (!key) problems.push({ field: "runners", reason: `no API key with id "${id}"` });
      else if (key.role !== "command-runner") problems.push({ field: "runners", reason: `API key "${key.name}" has role ${key.role}; runners need role command-runner` });
    }
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.field}: ${problems[0]!.reason}`, problems);
  }

  private resolveFiles(files: { fileId: string; path: string }[]): RunSpec["files"] {
    const paths = new Set<string>();
    return files.map(({ fileId, path }) => {
      const file = this.stores.files.get(fileId);
      if (!file) throw ValidationError.field("files", `no uploaded file with id "${fileId}"`);
      if (paths.has(path)) throw ValidationError.field("files", `two files go to ${path}`);
      paths.add(path);
      return { path, sha256: file.sha256, size: file.size };
    });
  }
}

/** Cron expressions and time zones are checked with the same library that will run them. */
export function checkLaunch(launch: Launch): void {
  if (launch.type !== "schedule") return;
  try {
    new Cron(launch.cron, { timezone: launch.timezone, paused: true }).nextRun();
  } catch (error) {
    const message = (error as Error).message;
    const field = /time ?zone/i.test(message) ? "launch.timezone" : "launch.cron";
    throw ValidationError.field(field, message);
  }
}
