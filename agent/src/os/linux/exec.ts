import { tmpdir } from "node:os";
import { loginEnvironment, PosixScriptHost } from "../../executor/posix-host.js";
import { ScannedProcessTree, type SendSignal } from "../../executor/posix-tree.js";
import type { LaunchCommand, ProcessTree, RunAsAccount, ScriptFile, Shell } from "../../executor/types.js";
import type { CommandRunner } from "../types.js";
import { parsePasswdLine } from "./exec-passwd.js";
import { scanProc } from "./exec-proc.js";

// Absolute paths: the agent runs as root, and a PATH lookup would let any directory on it supply these.
const GETENT = "/usr/bin/getent";
// util-linux: switches uid/gid and calls initgroups(3) in one exec, with no shell and no PAM session.
const SETPRIV = "/usr/bin/setpriv";
// What `setpriv --reset-env` gives a user, and a user with uid 0.
const USER_PATH = "/usr/local/bin:/bin:/usr/bin";
const ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin";

export interface LinuxScriptHostOptions {
  run: CommandRunner;
  /** Default: the OS temp directory (TMPDIR or /tmp). Shebang scripts need it not mounted noexec. */
  tempBase?: string;
  killGraceMs?: number;
  procDir?: string;
  kill?: SendSignal;
}

export class LinuxScriptHost extends PosixScriptHost {
  private readonly run: CommandRunner;
  private readonly procDir: string;
  private readonly kill: SendSignal;

  constructor(opts: LinuxScriptHostOptions) {
    super("linux", { tempBase: opts.tempBase ?? tmpdir(), killGraceMs: opts.killGraceMs });
    this.run = opts.run;
    this.procDir = opts.procDir ?? "/proc";
    this.kill = opts.kill ?? ((pid, signal) => process.kill(pid, signal));
  }

  async resolveAccount(runAs: string): Promise<RunAsAccount> {
    if (runAs === "root") return { kind: "agent" };
    // getent asks NSS, so users from LDAP/SSSD count as local users too, as they do for login.
    const { stdout, stderr, exitCode } = await this.run(GETENT, ["passwd", runAs], { timeoutMs: 30_000 });
    // getent exits 2 when the key is not in the database.
    if (exitCode === 2) throw new Error(`no local user named ${runAs}`);
    if (exitCode !== 0) throw new Error(`could not look up user ${runAs}: getent exited with ${exitCode}: ${stderr.trim()}`);
    const account = parsePasswdLine(stdout, runAs);
    if (!account) throw new Error(`could not look up user ${runAs}: getent printed no passwd entry for it`);
    return account;
  }

  /**
   * As root: the agent's environment plus `env`. As a user: setpriv with the user's uid, gid and
   * supplementary groups, and the environment a login would give (HOME, SHELL, USER, LOGNAME, PATH)
   * plus `env`. That environment is built here rather than with setpriv's --reset-env, which would
   * also wipe `env`; passing `env` on a command line instead would show its values in /proc/PID/cmdline.
   */
  async launch(input: { shell: Shell; scriptPath: string; script: ScriptFile; account: RunAsAccount; env: Record<string, string> }): Promise<LaunchCommand> {
    const [file, ...args] = await this.interpreter(input.shell, input.scriptPath, input.script);
    const { account } = input;
    if (account.kind === "agent") return { file: file!, args, env: input.env, extendEnv: true, detached: true };
    return {
      file: SETPRIV,
      args: [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--init-groups", "--", file!, ...args],
      env: { ...loginEnvironment(account, account.uid === 0 ? ROOT_PATH : USER_PATH), ...input.env },
      extendEnv: false,
      detached: true,
    };
  }

  processTree(pid: number, marker: string): ProcessTree {
    return new ScannedProcessTree(pid, marker, (withMarker) => scanProc(this.procDir, withMarker), this.kill);
  }
}
