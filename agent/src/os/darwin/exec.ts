import { loginEnvironment, PosixScriptHost } from "../../executor/posix-host.js";
import { ScannedProcessTree, type SendSignal } from "../../executor/posix-tree.js";
import type { LaunchCommand, ProcessTree, RunAsAccount, ScriptFile, Shell } from "../../executor/types.js";
import type { CommandRunner } from "../types.js";
import { DSCL_USER_ATTRIBUTES, parseDsclUser } from "./exec-dscl.js";
import { PS_ARGS, parsePsProcesses } from "./exec-ps.js";

const DSCL = "/usr/bin/dscl";
const PS = "/bin/ps";
const SUDO = "/usr/bin/sudo";
// A login's PATH on macOS: /etc/paths.
const LOGIN_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

export interface DarwinScriptHostOptions {
  run: CommandRunner;
  /**
   * Default /private/tmp: a LaunchDaemon's own TMPDIR (/var/folders/…) is closed to other users, so a
   * script run as one of them could not be read there.
   */
  tempBase?: string;
  killGraceMs?: number;
  kill?: SendSignal;
  isExecutable?: (file: string) => Promise<boolean>;
}

/**
 * Runs scripts on macOS. As a user it uses sudo, with an argument array and no shell string:
 *
 *   /usr/bin/sudo -n -H -u NAME --preserve-env=HOME,SHELL,USER,LOGNAME,PATH,<env names> -- SHELL SCRIPT
 *
 * sudo switches uid and gid and sets the user's supplementary groups (initgroups). `su -l NAME -c` and
 * `sudo -i` would hand the script path to the user's shell as a command string, so neither is used.
 * The login environment (HOME, SHELL, USER, LOGNAME from dscl, PATH from /etc/paths) and the execution's
 * variables travel in sudo's environment, not on its command line: sudo stays the script's parent for the
 * whole run and its arguments are visible to every user in `ps`. `-n` fails instead of prompting; as root,
 * the default sudoers (`root ALL = (ALL) ALL`, which implies SETENV) allows --preserve-env. A sudoers that
 * takes that from root makes every run-as-user script fail with sudo's message, not run with a wrong
 * environment. Process trees are found with ps (pid, parent, group and start time); macOS offers no cheap
 * read of another process's environment, so a daemon that double-forked out of the group is missed.
 */
export class DarwinScriptHost extends PosixScriptHost {
  private readonly run: CommandRunner;
  private readonly kill: SendSignal;

  constructor(opts: DarwinScriptHostOptions) {
    super("darwin", { tempBase: opts.tempBase ?? "/private/tmp", killGraceMs: opts.killGraceMs, isExecutable: opts.isExecutable });
    this.run = opts.run;
    this.kill = opts.kill ?? ((pid, signal) => process.kill(pid, signal));
  }

  async resolveAccount(runAs: string): Promise<RunAsAccount> {
    if (runAs === "root") return { kind: "agent" };
    const { stdout, stderr, exitCode } = await this.run(DSCL, [".", "-read", `/Users/${runAs}`, ...DSCL_USER_ATTRIBUTES], { timeoutMs: 30_000 });
    // dscl exits 56 with "<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)" for a missing record.
    if (exitCode !== 0 && /eDSRecordNotFound/.test(stderr + stdout)) throw new Error(`no local user named ${runAs}`);
    if (exitCode !== 0) throw new Error(`could not look up user ${runAs}: dscl exited with ${exitCode}: ${(stderr || stdout).trim()}`);
    const account = parseDsclUser(stdout, runAs);
    if (!account) throw new Error(`could not look up user ${runAs}: dscl did not give its UniqueID, PrimaryGroupID and NFSHomeDirectory`);
    return account;
  }

  async launch(input: { shell: Shell; scriptPath: string; script: ScriptFile; account: RunAsAccount; env: Record<string, string> }): Promise<LaunchCommand> {
    const argv = await this.interpreter(input.shell, input.scriptPath, input.script);
    const { account } = input;
    if (account.kind === "agent") return { file: argv[0]!, args: argv.slice(1), env: input.env, extendEnv: true, detached: true };
    const env = { ...loginEnvironment(account, LOGIN_PATH), ...input.env };
    return {
      file: SUDO,
      args: ["-n", "-H", "-u", account.name, `--preserve-env=${Object.keys(env).join(",")}`, "--", ...argv],
      env,
      extendEnv: false,
      detached: true,
    };
  }

  processTree(pid: number, marker: string): ProcessTree {
    const scan = async () => {
      const { stdout, exitCode } = await this.run(PS, PS_ARGS, { timeoutMs: 10_000 });
      if (exitCode !== 0) throw new Error(`ps exited with ${exitCode}`);
      return parsePsProcesses(stdout);
    };
    return new ScannedProcessTree(pid, marker, scan, this.kill);
  }
}
