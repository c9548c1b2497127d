import { constants } from "node:fs";
import { access, chown } from "node:fs/promises";
import { posix } from "node:path";
import { DEFAULT_KILL_GRACE_MS } from "./terminate.js";
import type { LaunchCommand, ProcessTree, RunAsAccount, ScriptFile, ScriptHost, Shell } from "./types.js";

const POSIX_SHELLS: ReadonlySet<Shell> = new Set(["bash", "sh", "zsh"]);

export interface PosixHostOptions {
  tempBase: string;
  killGraceMs?: number;
  /** Whether a file exists and is executable; injectable so hosts of other OSes can be tested here. */
  isExecutable?: (file: string) => Promise<boolean>;
}

/** What Linux and macOS share: the shells, shebang handling, file ownership. */
/** Above any pid_max: a root that matches nothing, so only the marker decides (kill(-pid) fails harmlessly). */
const NO_ROOT_PID = 2 ** 31 - 1;

export abstract class PosixScriptHost implements ScriptHost {
  readonly path = posix;
  readonly tempBase: string;
  readonly killGraceMs: number;
  private readonly isExecutable: (file: string) => Promise<boolean>;

  protected constructor(
    private readonly osName: string,
    opts: PosixHostOptions,
  ) {
    this.tempBase = opts.tempBase;
    this.killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.isExecutable = opts.isExecutable ?? canExecute;
  }

  abstract resolveAccount(runAs: string): Promise<RunAsAccount>;
  abstract launch(input: { shell: Shell; scriptPath: string; script: ScriptFile; account: RunAsAccount; env: Record<string, string> }): Promise<LaunchCommand>;
  abstract processTree(pid: number, marker: string): ProcessTree;

  checkShell(shell: Shell): void {
    if (!POSIX_SHELLS.has(shell)) throw new Error(`shell ${shell} is not available on ${this.osName} (use bash, sh or zsh)`);
  }

  scriptFile(_shell: Shell, script: string): ScriptFile {
    return { name: "script", data: Buffer.from(script, "utf8"), executable: script.startsWith("#!") };
  }

  async giveTo(path: string, account: RunAsAccount): Promise<void> {
    if (account.kind === "user") await chown(path, account.uid, account.gid);
  }

  /**
   * The program and arguments that run the script: the file itself when it has a shebang (the kernel
   * reads the line, so `#!/usr/bin/env python3` works as it does in a terminal), else the chosen shell.
   */
  protected async interpreter(shell: Shell, scriptPath: string, script: ScriptFile): Promise<string[]> {
    if (script.executable) return [scriptPath];
    const shellPath = `/bin/${shell}`;
    if (!(await this.isExecutable(shellPath))) throw new Error(`shell ${shell} is not installed on this device (${shellPath})`);
    return [shellPath, scriptPath];
  }

  leftovers(marker: string): ProcessTree {
    return this.processTree(NO_ROOT_PID, marker);
  }
}

/**
 * The environment a login gives the account, as `setpriv --reset-env` and `su -l` build it: none of the
 * agent's own variables (root's HOME, its PATH), the user's instead. `path` is the OS's default PATH.
 */
export function loginEnvironment(account: Extract<RunAsAccount, { kind: "user" }>, path: string): Record<string, string> {
  return { HOME: account.home, SHELL: account.loginShell, USER: account.name, LOGNAME: account.name, PATH: path };
}

async function canExecute(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
