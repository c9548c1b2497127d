import { constants } from "node:os";
import { execa } from "execa";
import { fetchAttachments, placeAttachments } from "./attachments.js";
import { captureOutput } from "./capture-output.js";
import { createScriptDir, removeScriptDir } from "./script-dir.js";
import { terminateTree } from "./terminate.js";
import type { ExecutionOutcome, ExecutionSpec, LaunchCommand, RunHooks, ScriptHost } from "./types.js";
import { validateSpec } from "./validate-spec.js";

/**
 * Set in every script's environment. Scripts may use it; hosts that can read other processes'
 * environments use it to find a daemon the script started, even after it left the process tree.
 */
export const EXECUTION_ID_VARIABLE = "TETHER_EXECUTION_ID";

/** The environment entry every process of an execution carries, to find them all later. */
export function executionMarker(executionId: string): string {
  return `${EXECUTION_ID_VARIABLE}=${executionId}`;
}

/** The exit code reported for a timeout, as JumpCloud reports it (and as coreutils' timeout exits). */
export const TIMEOUT_EXIT_CODE = 124;

// Once the script has exited, how long a process it left in the background may keep its output open
// before we stop reading (Go's exec.Cmd.WaitDelay): otherwise `daemon &` would hold the result forever.
const OUTPUT_DRAIN_MS = 2_000;

class Canceled extends Error {}

/**
 * Runs one execution to its end and describes what happened. Never throws: anything that stops the
 * script from starting is an outcome with status "error" (or "canceled" when the caller aborted first).
 * Steps: validate, look up the user, download and check attachments, place them, write the script to a
 * private directory, run it with a deadline, remove the directory.
 */
export async function runExecution(spec: ExecutionSpec, hooks: RunHooks, host: ScriptHost): Promise<ExecutionOutcome> {
  const scriptDir: { path?: string } = {};
  let outcome: ExecutionOutcome;
  try {
    outcome = await prepareAndRun(spec, hooks, host, scriptDir);
  } catch (error) {
    outcome = notStarted("error", `internal error: ${messageOf(error)}`);
  }
  try {
    hooks.onOutcome?.(outcome);
  } catch {
    // The caller's reporting must not keep the directory from being removed.
  }
  // After the outcome is out: removing the directory is the caller's wait otherwise.
  if (scriptDir.path) await removeScriptDir(scriptDir.path);
  return outcome;
}

async function prepareAndRun(spec: ExecutionSpec, hooks: RunHooks, host: ScriptHost, scriptDir: { path?: string }): Promise<ExecutionOutcome> {
  // Awaited only once preparation is done, or never when it fails first: handled from the start.
  hooks.mayStart?.catch(() => undefined);
  const problem = validateSpec(spec, host);
  if (problem) return notStarted("error", problem);
  try {
    const account = await unlessAborted(host.resolveAccount(spec.runAs), hooks.signal);
    const files = await unlessAborted(fetchAttachments(spec.files, hooks), hooks.signal);
    await placeAttachments(files, account, host);
    const script = host.scriptFile(spec.shell, spec.script);
    const created = await createScriptDir(spec.executionId, script, account, host);
    scriptDir.path = created.dir;
    const env = { ...spec.env, [EXECUTION_ID_VARIABLE]: spec.executionId };
    const command = await host.launch({ shell: spec.shell, scriptPath: created.scriptPath, script, account, env });
    await hooks.mayStart;
    if (hooks.signal?.aborted) throw new Canceled();
    return await runProcess(command, created.dir, spec, hooks, host);
  } catch (error) {
    return error instanceof Canceled ? notStarted("canceled", null) : notStarted("error", messageOf(error));
  }
}

async function runProcess(command: LaunchCommand, cwd: string, spec: ExecutionSpec, hooks: RunHooks, host: ScriptHost): Promise<ExecutionOutcome> {
  const subprocess = execa(command.file, command.args, {
    cwd,
    env: command.env,
    extendEnv: command.extendEnv,
    detached: command.detached,
    stdin: "ignore",
    buffer: false,
    encoding: "buffer",
    reject: false,
    windowsHide: true,
  });
  const { pid } = subprocess;
  if (pid === undefined) {
    const failed = await subprocess;
    return notStarted("error", `could not start ${command.file}: ${failed.shortMessage ?? failed.message ?? "unknown error"}`);
  }
  const startedAt = new Date().toISOString();
  try {
    hooks.onStarted?.(pid);
  } catch {
    // A journal hook that fails cannot un-start the process; the run goes on and reports as usual.
  }
  const stdout = captureOutput(subprocess.stdout, "stdout", spec.outputLimitBytes, hooks.onOutput);
  const stderr = captureOutput(subprocess.stderr, "stderr", spec.outputLimitBytes, hooks.onOutput);

  let stoppedBy: "timed_out" | "canceled" | undefined;
  let exited = false;
  let terminating: Promise<void> = Promise.resolve();
  const stop = (reason: "timed_out" | "canceled") => {
    if (exited || stoppedBy) return;
    stoppedBy = reason;
    const tree = host.processTree(pid, executionMarker(spec.executionId));
    terminating = terminateTree(tree, host.killGraceMs).catch(() => undefined);
  };
  const onAbort = () => stop("canceled");
  const deadline = setTimeout(() => stop("timed_out"), spec.timeoutSeconds * 1000);
  hooks.signal?.addEventListener("abort", onAbort, { once: true });
  if (hooks.signal?.aborted) onAbort();
  let drain: NodeJS.Timeout | undefined;
  subprocess.once("exit", () => {
    exited = true;
    clearTimeout(deadline);
    drain = setTimeout(() => {
      subprocess.stdout.destroy();
      subprocess.stderr.destroy();
    }, OUTPUT_DRAIN_MS);
  });

  try {
    const result = await subprocess;
    await Promise.all([stdout.done, stderr.done, terminating]);
    const exitCode = result.exitCode ?? (result.signal ? 128 + (constants.signals[result.signal] ?? 0) : null);
    const status = stoppedBy ?? (exitCode === 0 ? "succeeded" : "failed");
    return {
      status,
      exitCode: status === "timed_out" ? TIMEOUT_EXIT_CODE : exitCode,
      stdout: stdout.tail.text(),
      stderr: stderr.tail.text(),
      stdoutTruncated: stdout.tail.truncated,
      stderrTruncated: stderr.tail.truncated,
      startedAt,
      finishedAt: new Date().toISOString(),
      // Neither an exit code nor a signal: the process's end was not observed (a stream error).
      error: exitCode === null && !stoppedBy ? (result.shortMessage ?? "the process ended without an exit status") : null,
    };
  } finally {
    clearTimeout(deadline);
    clearTimeout(drain);
    hooks.signal?.removeEventListener("abort", onAbort);
  }
}

/** Waits for `work`, unless the caller aborts first (a slow download must not delay a cancel). */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) throw new Canceled();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Canceled());
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function notStarted(status: "error" | "canceled", error: string | null): ExecutionOutcome {
  return {
    status,
    exitCode: null,
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    startedAt: null,
    finishedAt: new Date().toISOString(),
    error,
  };
}
