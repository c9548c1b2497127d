import { win32 } from "node:path";
import { DEFAULT_KILL_GRACE_MS } from "../../executor/terminate.js";
import type { LaunchCommand, ProcessTree, RunAsAccount, ScriptFile, ScriptHost, Shell } from "../../executor/types.js";
import type { CommandRunner } from "../types.js";

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface WindowsScriptHostOptions {
  run: CommandRunner;
  /** Inside the agent's state directory, whose ACL (SYSTEM and Administrators only) the script dirs inherit. */
  tempBase: string;
  /** %SystemRoot%, for absolute paths to the tools. */
  systemRoot: string;
  killGraceMs?: number;
}

/**
 * Runs scripts on Windows, as the agent's own account (LocalSystem, as JumpCloud does): running as
 * another user needs that user's password or a logon token, which an agent does not hold.
 *
 * PowerShell: `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File script.ps1`; the
 * file gets a UTF-8 byte-order mark, without which Windows PowerShell 5.1 reads it in the ANSI code page.
 * cmd: `cmd.exe /d /c script.cmd` (/d: no AutoRun commands from the registry); the file gets CRLF line
 * endings, since cmd mis-parses labels and GOTO in LF-only files. Output is decoded as UTF-8; programs
 * that write in the console's OEM code page will show other characters for non-ASCII text.
 */
export class WindowsScriptHost implements ScriptHost {
  readonly path = win32;
  readonly tempBase: string;
  readonly killGraceMs: number;
  private readonly run: CommandRunner;
  private readonly systemRoot: string;

  constructor(opts: WindowsScriptHostOptions) {
    this.run = opts.run;
    this.tempBase = opts.tempBase;
    this.systemRoot = opts.systemRoot;
    this.killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  checkShell(shell: Shell): void {
    if (shell !== "powershell" && shell !== "cmd") throw new Error(`shell ${shell} is not available on windows (use powershell or cmd)`);
  }

  async resolveAccount(runAs: string): Promise<RunAsAccount> {
    if (runAs.toLowerCase() === "system") return { kind: "agent" };
    throw new Error(`scripts on windows run as system; running as ${runAs} is not supported`);
  }

  scriptFile(shell: Shell, script: string): ScriptFile {
    if (shell === "cmd") return { name: "script.cmd", data: Buffer.from(script.replace(/\r?\n/g, "\r\n"), "utf8"), executable: false };
    return { name: "script.ps1", data: Buffer.concat([UTF8_BOM, Buffer.from(script, "utf8")]), executable: false };
  }

  async giveTo(_path: string, _account: RunAsAccount): Promise<void> {
    // Only the agent's own account runs scripts here, and it already owns what it created.
  }

  async launch(input: { shell: Shell; scriptPath: string; env: Record<string, string> }): Promise<LaunchCommand> {
    const [file, args] =
      input.shell === "cmd"
        ? [this.system32("cmd.exe"), ["/d", "/c", input.scriptPath]]
        : [
            this.system32("WindowsPowerShell\\v1.0\\powershell.exe"),
            ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", input.scriptPath],
          ];
    // detached would give the script its own console window; taskkill /T finds the tree without it.
    return { file, args, env: input.env, extendEnv: true, detached: false };
  }

  /**
   * `taskkill /PID pid /T /F`: the process and every descendant, at once. Console programs have no
   * SIGTERM to trap, so there is no gentler first step; the tree is killed once, on the first signal,
   * and never again (a second taskkill could reach a process that has since taken the pid).
   */
  processTree(pid: number): ProcessTree {
    let killed = false;
    return {
      signal: async () => {
        if (killed) return;
        killed = true;
        // Exit 128 means "not found": it ended by itself meanwhile.
        await this.run(this.system32("taskkill.exe"), ["/PID", String(pid), "/T", "/F"], { timeoutMs: 30_000 }).catch(() => undefined);
      },
      alive: async () => !killed,
    };
  }

  // Absolute paths: Windows looks in the current directory before PATH.
  private system32(tool: string): string {
    return win32.join(this.systemRoot, "System32", tool);
  }
}
