import { mkdir, rm } from "node:fs/promises";
import { underRoot, writeDefinitionFile } from "../../service/files.js";
import type { CommandRunner, InstallLayout, ServiceManager, ServiceState } from "../types.js";
import { DEFAULT_LOG_DIR, LAUNCHD_LABEL, LAUNCHD_PLIST, launchdLogFiles, renderLaunchdPlist } from "./service-plist.js";

const LAUNCHCTL = "/bin/launchctl";
const TARGET = `system/${LAUNCHD_LABEL}`;
// `launchctl print` exits 113 for a service that is not loaded ("Could not find service").
const NOT_LOADED = 113;

export interface LaunchdServiceOptions {
  run: CommandRunner;
  layout: InstallLayout;
  /** Write under this directory; the daemon is then loaded at that system's next boot. */
  root?: string | undefined;
}

/**
 * The agent as a LaunchDaemon in the system domain. launchd has no "stopped but loaded" state for a
 * KeepAlive job, so stop unloads it (bootout) until the next boot or `service start`.
 */
export class LaunchdService implements ServiceManager {
  readonly serviceName = LAUNCHD_LABEL;
  readonly definitionFiles: readonly string[] = [LAUNCHD_PLIST];
  readonly logs: string;

  constructor(private readonly options: LaunchdServiceOptions) {
    this.logs = launchdLogFiles(options.layout.logDir ?? DEFAULT_LOG_DIR).stdout;
  }

  private get plistPath(): string {
    return underRoot(this.options.root, LAUNCHD_PLIST);
  }

  async writeDefinition(): Promise<void> {
    const { layout, root } = this.options;
    // launchd creates the log files but not their directory.
    if (layout.logDir) await mkdir(underRoot(root, layout.logDir), { recursive: true, mode: 0o755 });
    await writeDefinitionFile(this.plistPath, renderLaunchdPlist(layout));
  }

  async removeDefinition(): Promise<void> {
    await rm(this.plistPath, { force: true });
  }

  async register(): Promise<void> {
    // A plist in /Library/LaunchDaemons is loaded at boot: in a scratch root that is all there is to do.
    if (this.options.root) return;
    // Loaded already: unload first, so launchd reads the plist as it is now.
    if ((await this.state()).registered) await this.launchctl("bootout", TARGET);
    await this.launchctl("bootstrap", "system", LAUNCHD_PLIST);
  }

  async unregister(): Promise<void> {
    if (this.options.root) return;
    if ((await this.state()).registered) await this.launchctl("bootout", TARGET);
  }

  async start(): Promise<void> {
    this.live("start");
    // bootstrap starts it (RunAtLoad); kickstart -k restarts a loaded one.
    if ((await this.state()).registered) await this.launchctl("kickstart", "-k", TARGET);
    else await this.launchctl("bootstrap", "system", LAUNCHD_PLIST);
  }

  async stop(): Promise<void> {
    await this.unregister();
  }

  async state(): Promise<ServiceState> {
    this.live("ask about");
    const { stdout, exitCode } = await this.options.run(LAUNCHCTL, ["print", TARGET], { timeoutMs: 30_000 });
    if (exitCode === NOT_LOADED) return { registered: false, running: false, detail: "not loaded" };
    if (exitCode !== 0) throw new Error(`launchctl print ${TARGET} exited with ${exitCode}`);
    return parseLaunchctlPrint(stdout);
  }

  /**
   * The plist goes first, so nothing loads the daemon at the next boot; then bootout, which ends this
   * process too (launchd sends SIGTERM and waits for it). It is not waited for long: the agent is exiting.
   */
  async unregisterFromInside(): Promise<void> {
    await this.removeDefinition();
    await this.options.run(LAUNCHCTL, ["bootout", TARGET], { timeoutMs: 5_000 }).catch(() => undefined);
  }

  private live(what: string): void {
    if (this.options.root) throw new Error(`cannot ${what} a service in a scratch root (${this.options.root})`);
  }

  private async launchctl(...args: string[]): Promise<void> {
    const { stdout, stderr, exitCode } = await this.options.run(LAUNCHCTL, args, { timeoutMs: 60_000 });
    if (exitCode !== 0) throw new Error(`launchctl ${args.join(" ")} exited with ${exitCode}: ${(stderr || stdout).trim()}`);
  }
}

/**
 * `launchctl print system/LABEL`: a nested "key = value" listing. Its top-level `state` is `running`,
 * `not running`, `waiting`, …; `pid` is there while it runs; `last exit code` is a number or
 * "(never exited)".
 */
export function parseLaunchctlPrint(output: string): ServiceState {
  // The first occurrence is the service's own: nested blocks (domain, endpoints) come later.
  const state = /^\s*state = (.+?)\s*$/m.exec(output)?.[1] ?? "unknown";
  const pid = /^\s*pid = (\d+)\s*$/m.exec(output)?.[1];
  const lastExit = /^\s*last exit code = (-?\d+)/m.exec(output)?.[1];
  return {
    registered: true,
    running: state === "running",
    ...(lastExit !== undefined ? { lastExitStatus: Number(lastExit) } : {}),
    detail: `${state}${pid ? ` (pid ${pid})` : ""}${lastExit !== undefined ? `, last exit code ${lastExit}` : ""}`,
  };
}
