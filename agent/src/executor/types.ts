import type { PlatformPath } from "node:path";

/** The interpreters an execution may ask for; which ones an OS offers is its ScriptHost's call. */
export type Shell = "bash" | "sh" | "zsh" | "powershell" | "cmd";

/** One execution as the agent received it: everything needed to run it, nothing about delivery. */
export interface ExecutionSpec {
  executionId: string;
  script: string;
  /** On linux/darwin a shebang line (#!) at the top of the script wins over this. */
  shell: Shell;
  /** "root" (linux/darwin), "system" (windows), or a local username. */
  runAs: string;
  timeoutSeconds: number;
  /** Added on top of the environment the script would get anyway. */
  env: Record<string, string>;
  /** Attachments, placed at `path` before the script starts. */
  files: { path: string; sha256: string; size: number }[];
  /** Per stream; output beyond it is dropped from the front, so the tail is kept. */
  outputLimitBytes: number;
}

/**
 * succeeded: exit 0. failed: any other exit (a death by signal reads as 128 + the signal's number, as a
 * shell reports it). timed_out: killed by us at the deadline. canceled: the caller aborted. error: it
 * could not start, and `error` says why.
 */
export type ExecutionStatus = "succeeded" | "failed" | "timed_out" | "canceled" | "error";

export interface ExecutionOutcome {
  status: ExecutionStatus;
  /** 124 on timeout (JumpCloud's convention); null when no process ran (error, canceled before start). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** ISO time the process was spawned; null when it never was. */
  startedAt: string | null;
  finishedAt: string;
  /** Why it could not start (unknown user, checksum mismatch, …); null when it started. */
  error: string | null;
}

export interface RunHooks {
  /** The process exists (for the durable journal). */
  onStarted?(pid: number): void;
  /** Output as it arrives, decoded as UTF-8 without splitting a character across calls. */
  onOutput?(stream: "stdout" | "stderr", chunk: string): void;
  /** Abort = cancel: the whole process tree is killed and the status is "canceled". */
  signal?: AbortSignal;
  /** Downloads an attachment by its SHA-256 (the caller does the HTTP); the runner checks what it gets. */
  fetchFile?(sha256: string): Promise<Buffer>;
  /**
   * Settles when the process may be started (the journal holds the execution durably). The runner
   * prepares meanwhile, and starts nothing when it rejects.
   */
  mayStart?: Promise<unknown>;
  /** The outcome, as soon as it is known: before the script's directory is removed. */
  onOutcome?(outcome: ExecutionOutcome): void;
}

/** Whom the script runs as, once the host has looked the name up. */
export type RunAsAccount =
  /** The agent's own account (root, SYSTEM): nothing to switch. */
  | { kind: "agent" }
  | { kind: "user"; name: string; uid: number; gid: number; home: string; loginShell: string };

/** What to spawn: an argument array, never a shell string. */
export interface LaunchCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** Whether `env` is added to the agent's environment (true) or is the whole environment (false). */
  extendEnv: boolean;
  /** Own process group/session (POSIX), so the tree can be signalled as a whole. */
  detached: boolean;
}

/** The script file as the OS wants it on disk. */
export interface ScriptFile {
  name: string;
  data: Buffer;
  /** Run directly (a shebang line): the kernel picks the interpreter. */
  executable: boolean;
}

/** Every process that belongs to one execution, found again each time it is asked. */
export interface ProcessTree {
  /** Sends the signal to every process of the tree still alive, including ones that left its group. */
  signal(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Whether any process of the tree is still alive (zombies count as dead). */
  alive(): Promise<boolean>;
}

/**
 * The OS-specific half of running a script. The runner (run-execution.ts) does the same steps on every
 * OS and asks the host for each OS fact; it never looks at process.platform. Methods throw an Error whose
 * message is fit to show an admin ("no local user named bob"); the runner turns it into an outcome.
 */
export interface ScriptHost {
  /** Path rules for attachment destinations (posix or win32). */
  readonly path: PlatformPath;
  /** Directory under which each execution gets its private directory; created if missing. */
  readonly tempBase: string;
  /** Time between SIGTERM and SIGKILL. */
  readonly killGraceMs: number;
  /** Throws when this OS does not offer the shell. */
  checkShell(shell: Shell): void;
  /** `runAs` has passed the runner's name pattern; throws for an unknown user or one this OS cannot switch to. */
  resolveAccount(runAs: string): Promise<RunAsAccount>;
  scriptFile(shell: Shell, script: string): ScriptFile;
  /** Gives the account (and only it, besides the agent) a file or directory the runner made. */
  giveTo(path: string, account: RunAsAccount): Promise<void>;
  /** The command that runs the script file as the account, with `env` on top of its login environment. */
  launch(input: { shell: Shell; scriptPath: string; script: ScriptFile; account: RunAsAccount; env: Record<string, string> }): Promise<LaunchCommand>;
  /**
   * The tree rooted at `pid`. `marker` ("NAME=value") is in the environment of every process the script
   * starts unless one clears it; hosts that can read environments use it to find daemons that left.
   */
  processTree(pid: number, marker: string): ProcessTree;
  /**
   * Processes still carrying `marker` with no known root: what an execution left running when the
   * agent itself died. Hosts that cannot read environments return undefined.
   */
  leftovers?(marker: string): ProcessTree | undefined;
}
