import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { installExecutable, underRoot, writeDefinitionFile } from "../../service/files.js";
import type { CommandRunner, InstallLayout, ServiceManager, ServiceState } from "../types.js";
import { renderWinswXml, WINSW_BASENAME, WINSW_EXE_CONFIG, WINSW_SERVICE_ID, winswFiles, winswLogDir } from "./service-xml.js";

export interface WinswServiceOptions {
  run: CommandRunner;
  layout: InstallLayout;
  /** Write under this directory. A Windows service cannot be registered offline: the MSI does that. */
  root?: string | undefined;
  /** WinSW's executable, to copy beside the agent (a SEA asset of the native binary). */
  wrapper: () => Promise<Buffer>;
  /** How long to wait for a stop to finish (WinSW's `stop` only asks the service control manager). */
  stopWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

type WinswStatus = "NonExistent" | "Started" | "Stopped";

/**
 * The agent as a Windows service. A single-executable Node program has no service dispatcher, so WinSW
 * (tether-agent-service.exe, configured by tether-agent-service.xml beside it) is the service and runs
 * `tether-agent.exe run` as its child. Everything goes through the wrapper's own commands.
 */
export class WinswService implements ServiceManager {
  readonly serviceName = WINSW_SERVICE_ID;
  readonly definitionFiles: readonly string[];
  readonly logs: string;
  private readonly files: ReturnType<typeof winswFiles>;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: WinswServiceOptions) {
    this.files = winswFiles(options.layout.binary);
    this.definitionFiles = [this.files.exe, this.files.exeConfig, this.files.xml];
    this.logs = `${winswLogDir(options.layout)}\\${WINSW_BASENAME}.out.log`;
    this.sleep = options.sleep ?? ((ms) => sleep(ms));
  }

  async writeDefinition(): Promise<void> {
    const local = (path: string) => underRoot(this.options.root, path);
    await installExecutable(await this.options.wrapper(), local(this.files.exe));
    await writeDefinitionFile(local(this.files.exeConfig), WINSW_EXE_CONFIG);
    await writeDefinitionFile(local(this.files.xml), renderWinswXml(this.options.layout));
  }

  async removeDefinition(): Promise<void> {
    await Promise.all(this.definitionFiles.map((file) => rm(underRoot(this.options.root, file), { force: true })));
  }

  /**
   * Installs the service unless it exists. An existing one is kept: WinSW reads the executable, its
   * arguments and the log settings from the XML at every start, so an upgrade needs no re-registration.
   */
  async register(): Promise<void> {
    if (this.options.root) return;
    if ((await this.status()) === "NonExistent") await this.winsw("install");
  }

  async unregister(): Promise<void> {
    if (this.options.root) return;
    const status = await this.status();
    if (status === "NonExistent") return;
    if (status === "Started") await this.stop();
    await this.winsw("uninstall");
  }

  async start(): Promise<void> {
    this.live("start");
    // WinSW's restart stops, waits until stopped, and starts.
    await this.winsw((await this.status()) === "Started" ? "restart" : "start");
  }

  async stop(): Promise<void> {
    this.live("stop");
    if ((await this.status()) !== "Started") return;
    await this.winsw("stop");
    const deadline = Date.now() + (this.options.stopWaitMs ?? 60_000);
    while ((await this.status()) === "Started") {
      if (Date.now() >= deadline) throw new Error(`the ${WINSW_SERVICE_ID} service did not stop in time`);
      await this.sleep(1000);
    }
  }

  async state(): Promise<ServiceState> {
    this.live("ask about");
    const status = await this.status();
    return {
      registered: status !== "NonExistent",
      running: status === "Started",
      detail: status === "NonExistent" ? "not installed" : status === "Started" ? "running" : "stopped",
    };
  }

  /**
   * `uninstall` while running only marks the service for deletion: the service control manager deletes
   * it when the wrapper exits, which it does when the agent ends. The files stay: Windows does not let a
   * running executable be deleted.
   */
  async unregisterFromInside(): Promise<void> {
    await this.winsw("uninstall");
  }

  private live(what: string): void {
    if (this.options.root) throw new Error(`cannot ${what} a service in a scratch root (${this.options.root})`);
  }

  private async status(): Promise<WinswStatus> {
    const out = await this.winsw("status");
    const word = out.trim().split(/\r?\n/).pop()?.trim();
    if (word === "NonExistent" || word === "Started" || word === "Stopped") return word;
    throw new Error(`unexpected answer from ${this.files.exe} status: ${out.trim().slice(0, 200)}`);
  }

  private async winsw(command: string): Promise<string> {
    const { stdout, stderr, exitCode } = await this.options.run(this.files.exe, [command], { timeoutMs: 120_000 });
    if (exitCode !== 0) throw new Error(`${this.files.exe} ${command} exited with ${exitCode}: ${(stderr || stdout).trim()}`);
    return stdout;
  }
}
