import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { posix } from "node:path";
import { underRoot, writeDefinitionFile } from "../../service/files.js";
import type { CommandRunner, InstallLayout, ServiceManager, ServiceState } from "../types.js";
import { renderSystemdUnit, SYSTEMD_UNIT_DIR, SYSTEMD_UNIT_NAME } from "./service-unit.js";

export interface SystemdServiceOptions {
  run: CommandRunner;
  layout: InstallLayout;
  /** Write under this directory instead of `/`; systemctl then works offline on it (`--root`). */
  root?: string | undefined;
  /** Default: /usr/bin/systemctl, or /bin/systemctl on systems without a merged /usr. */
  systemctl?: string;
  /** Default: /etc/systemd/system, where an admin's units go. */
  unitDir?: string;
}

/**
 * The agent as a systemd service: the unit in /etc/systemd/system, enabled for multi-user.target.
 * systemctl runs with argument arrays through the injected runner.
 */
export class SystemdService implements ServiceManager {
  readonly serviceName = SYSTEMD_UNIT_NAME;
  readonly logs = `journalctl -u ${SYSTEMD_UNIT_NAME}`;
  readonly definitionFiles: readonly string[];
  private readonly systemctl: string;

  constructor(private readonly options: SystemdServiceOptions) {
    this.definitionFiles = [posix.join(options.unitDir ?? SYSTEMD_UNIT_DIR, SYSTEMD_UNIT_NAME)];
    this.systemctl = options.systemctl ?? (existsSync("/usr/bin/systemctl") || !existsSync("/bin/systemctl") ? "/usr/bin/systemctl" : "/bin/systemctl");
  }

  private get unitPath(): string {
    return underRoot(this.options.root, this.definitionFiles[0]!);
  }

  async writeDefinition(): Promise<void> {
    await writeDefinitionFile(this.unitPath, renderSystemdUnit(this.options.layout));
  }

  async removeDefinition(): Promise<void> {
    await rm(this.unitPath, { force: true });
    if (!this.options.root) await this.systemctlOk("daemon-reload");
  }

  async register(): Promise<void> {
    // In a scratch root systemctl enables offline: it only makes the multi-user.target.wants link.
    if (this.options.root) {
      await this.systemctlOk(`--root=${this.options.root}`, "enable", SYSTEMD_UNIT_NAME);
      return;
    }
    await this.systemctlOk("daemon-reload");
    await this.systemctlOk("enable", SYSTEMD_UNIT_NAME);
  }

  async unregister(): Promise<void> {
    if (this.options.root) {
      if (existsSync(this.unitPath)) await this.systemctlOk(`--root=${this.options.root}`, "disable", SYSTEMD_UNIT_NAME);
      return;
    }
    const state = await this.state();
    if (state.registered || state.running) await this.systemctlOk("disable", "--now", SYSTEMD_UNIT_NAME);
  }

  async start(): Promise<void> {
    this.live("start");
    await this.systemctlOk("restart", SYSTEMD_UNIT_NAME);
  }

  async stop(): Promise<void> {
    this.live("stop");
    await this.systemctlOk("stop", SYSTEMD_UNIT_NAME);
  }

  async state(): Promise<ServiceState> {
    this.live("ask about");
    const out = await this.systemctlOk("show", SYSTEMD_UNIT_NAME, `--property=${SHOW_PROPERTIES.join(",")}`);
    return parseSystemctlShow(out);
  }

  /**
   * Disabled and its unit removed, but not stopped: `systemctl stop` would wait for this very process.
   * systemd keeps the running unit loaded until it ends; its exit status (DeviceRevoked) is in
   * RestartPreventExitStatus, so nothing restarts it, and with no unit file it is gone after that.
   */
  async unregisterFromInside(): Promise<void> {
    await this.systemctlOk("disable", SYSTEMD_UNIT_NAME);
    await this.removeDefinition();
  }

  private live(what: string): void {
    if (this.options.root) throw new Error(`cannot ${what} a service in a scratch root (${this.options.root})`);
  }

  private async systemctlOk(...args: string[]): Promise<string> {
    const { stdout, stderr, exitCode } = await this.options.run(this.systemctl, args, { timeoutMs: 120_000 });
    if (exitCode !== 0) throw new Error(`systemctl ${args.join(" ")} exited with ${exitCode}: ${(stderr || stdout).trim()}`);
    return stdout;
  }
}

const SHOW_PROPERTIES = ["LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID", "ExecMainStatus"];

/** `systemctl show UNIT --property=…`: one KEY=VALUE per line; an unknown unit has LoadState=not-found. */
export function parseSystemctlShow(output: string): ServiceState {
  const values = new Map<string, string>();
  for (const line of output.split(/\r?\n/)) {
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const load = values.get("LoadState") ?? "";
  const active = values.get("ActiveState") ?? "";
  const sub = values.get("SubState") ?? "";
  const status = Number(values.get("ExecMainStatus"));
  if (load === "not-found") return { registered: false, running: false, detail: "not installed" };
  return {
    registered: values.get("UnitFileState") === "enabled",
    running: active === "active" || active === "reloading",
    ...(Number.isInteger(status) && values.has("ExecMainStatus") ? { lastExitStatus: status } : {}),
    detail: `${active}${sub ? ` (${sub})` : ""}${active === "failed" && Number.isInteger(status) ? `, last exit status ${status}` : ""}`,
  };
}
