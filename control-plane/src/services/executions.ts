import type { Logger } from "pino";
import type { ExecResult, ExecutionSpecMessage } from "../../../shared/src/protocol/commands.js";
import type { Actor, RequestContext } from "../domain/actor.js";
import { ACTIVE_STATUSES, OUTPUT_LIMIT_BYTES, type Command, type Execution } from "../domain/command.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors.js";
import { newId } from "../ids.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import type { Dispatcher } from "./dispatcher.js";
import { ExecutionReports } from "./execution-reports.js";

/** What one run executes, whether from a saved command or ad hoc. */
export interface RunSpec {
  commandId: string | null;
  name: string | null;
  script: string;
  os: Command["os"];
  shell: Command["shell"];
  runAs: string;
  timeoutSeconds: number;
  queueTtlSeconds: number;
  env: Record<string, string>;
  files: { path: string; sha256: string; size: number }[];
  parallel: boolean;
  targets: { devices: string[]; deviceGroups: string[] };
}

export interface LaunchResult {
  runId: string;
  executions: Execution[];
  /** Target devices skipped because they run another OS than the command's. */
  skipped: { deviceId: string; reason: string }[];
}

/**
 * Runs (fan-out to executions, one per device, in one transaction), results, cancellation, and the
 * agent's side (started, output, result: see ExecutionReports). Results are written once per
 * execution id, whatever the number of times an agent re-sends them.
 */
export class ExecutionService {
  private readonly reports: ExecutionReports;

  constructor(
    private readonly stores: Stores,
    private readonly dispatcher: Dispatcher,
    logger: Logger,
  ) {
    this.reports = new ExecutionReports(stores, dispatcher, logger);
  }

  launch(ctx: RequestContext, spec: RunSpec, narrowTo?: string[]): LaunchResult {
    const runId = newId("run", ctx.now.getTime());
    const result = this.stores.transaction(() => {
      const targets = this.resolveTargets(spec.targets);
      let deviceIds = [...targets];
      if (narrowTo) {
        const outside = narrowTo.filter((id) => !targets.has(id));
        if (outside.length > 0) {
          throw new ValidationError(`not a target of this command: ${outside.slice(0, 5).join(", ")}`, outside.map((id) => ({ field: "deviceIds", reason: `${id} is not a target` })));
        }
        deviceIds = [...new Set(narrowTo)];
      }
      const skipped: LaunchResult["skipped"] = [];
      const executions = [];
      const requestedAt = ctx.now.toISOString();
      const expiresAt = new Date(ctx.now.getTime() + spec.queueTtlSeconds * 1000).toISOString();
      const osOf = this.stores.devices.osOf(deviceIds);
      for (const deviceId of deviceIds.sort()) {
        const os = osOf.get(deviceId);
        if (os === undefined) continue;
        if (os !== spec.os) {
          skipped.push({ deviceId, reason: `the device runs ${os}, the command is for ${spec.os}` });
          continue;
        }
        const id = newId("exe", ctx.now.getTime());
        const wire: ExecutionSpecMessage = {
          executionId: id,
          script: spec.script,
          shell: spec.shell,
          runAs: spec.runAs,
          timeoutSeconds: spec.timeoutSeconds,
          env: spec.env,
          files: spec.files,
          outputLimitBytes: OUTPUT_LIMIT_BYTES,
        };
        executions.push({ id, runId, commandId: spec.commandId, commandName: spec.name, deviceId, spec: wire, parallel: spec.parallel, requestedBy: ctx.actor.id, requestedAt, expiresAt });
      }
      this.stores.executions.insert(executions);
      audit(this.stores.events, ctx, {
        action: "command.run",
        objectType: spec.commandId ? "command" : "command-run",
        objectId: spec.commandId ?? runId,
        details: { runId, devices: executions.length, skipped: skipped.length },
      });
      return { ids: executions.map((e) => e.id), deviceIds: executions.map((e) => e.deviceId), skipped };
    });
    this.dispatcher.kick(result.deviceIds);
    return { runId, executions: this.stores.executions.byIds(result.ids), skipped: result.skipped };
  }

  list(query: ListQuery, actor: Actor): Page<Execution> {
    return this.stores.executions.list(query, runnerScope(actor));
  }

  /** One result with its output; while it runs, the output streamed so far. */
  get(id: string, actor: Actor): Execution {
    const execution = this.stores.executions.get(id);
    if (!execution || !this.visible(execution, actor)) throw new NotFoundError("command result", id);
    return this.reports.withLiveOutput(execution);
  }

  /** Queued: canceled at once. Sent or running: the agent is told to kill it and reports `canceled`. */
  cancel(ctx: RequestContext, id: string): Execution {
    const execution = this.get(id, ctx.actor);
    if (!ACTIVE_STATUSES.includes(execution.status)) {
      throw new ConflictError(`the execution is already ${execution.status}`);
    }
    this.stores.transaction(() => {
      if (!this.stores.executions.cancelQueued(id, ctx.now.toISOString())) this.stores.executions.requestCancel(id);
      audit(this.stores.events, ctx, { action: "command-result.cancel", objectType: "command-result", objectId: id, details: { deviceId: execution.deviceId } });
    });
    if (execution.status !== "queued") this.dispatcher.cancel(execution.deviceId, id);
    else this.dispatcher.kick([execution.deviceId]);
    return this.get(id, ctx.actor);
  }

  // The agent's side, applied in batches by ExecutionReports.

  started(deviceId: string, executionId: string, startedAt: string): Promise<void> {
    return this.reports.started(deviceId, executionId, startedAt);
  }

  output(deviceId: string, executionId: string, stream: "stdout" | "stderr", chunk: string): void {
    this.reports.output(deviceId, executionId, stream, chunk);
  }

  /** Resolves once stored with whether the agent should be acknowledged (the id is this device's). */
  result(deviceId: string, result: ExecResult): Promise<boolean> {
    return this.reports.result(deviceId, result);
  }

  /** Applies the reports that wait, and takes no more: call before the database closes. */
  close(): void {
    this.reports.close();
  }

  private resolveTargets(targets: RunSpec["targets"]): Set<string> {
    const ids = new Set(targets.devices);
    for (const groupId of targets.deviceGroups) {
      let skip = 0;
      for (;;) {
        const page = this.stores.deviceGroups.members(groupId, { limit: 1000, skip, sort: [], filters: [] });
        for (const d of page.results) ids.add(d.id);
        skip += page.results.length;
        if (page.results.length === 0 || skip >= page.totalCount) break;
      }
    }
    return ids;
  }

  private visible(execution: Execution, actor: Actor): boolean {
    const scope = runnerScope(actor);
    return !scope || (execution.commandId !== null && this.stores.commands.isRunner(execution.commandId, scope));
  }
}

/** For a command-runner key, the key id its view is limited to; undefined for everyone else. */
export function runnerScope(actor: Actor): string | undefined {
  return actor.type === "api-key" && actor.role === "command-runner" ? actor.id : undefined;
}

export function requireRunner(stores: Stores, actor: Actor, commandId: string): void {
  const scope = runnerScope(actor);
  if (scope && !stores.commands.isRunner(commandId, scope)) {
    throw new ForbiddenError("this API key is not a runner of that command");
  }
}
