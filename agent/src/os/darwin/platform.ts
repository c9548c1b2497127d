import { chmod } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import type { MachineFingerprint } from "../../../../shared/src/protocol/inventory.js";
import type { ScriptHost } from "../../executor/types.js";
import { hardwareMacs } from "../macs.js";
import { CliError } from "../../../../shared/src/cli/run-cli.js";
import { ExitCode } from "../../exit-codes.js";
import { ConfigError, readOptionalFile } from "../../service/config.js";
import { underRoot } from "../../service/files.js";
import { parseBootstrap, parseManagedPreferences } from "../../service/provisioning.js";
import type { CommandRunner, InstallLayout, ListNetworkInterfaces, PlatformDriver, ProvisionedSettings, Provisioning, ServiceManager } from "../types.js";
import { LAUNCHD_LABEL } from "./service-plist.js";
import { DarwinScriptHost } from "./exec.js";
import { LaunchdService } from "./service.js";
import { type IoregPlatform, parseIoregPlatform } from "./ioreg.js";

// An absolute path: the agent runs as root, and a PATH lookup would let any directory on it supply "ioreg".
const IOREG = "/usr/sbin/ioreg";
const PLUTIL = "/usr/bin/plutil";

/** The preference domain a configuration profile sets the agent's settings in. */
export const MANAGED_PREFERENCES_DOMAIN = LAUNCHD_LABEL;

// macOS names its Ethernet, Wi-Fi and Thunderbolt ports en0, en1, …; awdl0, llw0, ap1, bridge0 and utunN
// are software interfaces.
const HARDWARE_INTERFACE = /^en\d+$/;

export class DarwinPlatform implements PlatformDriver {
  readonly name = "darwin";
  private readonly run: CommandRunner;
  private readonly listInterfaces: ListNetworkInterfaces;

  constructor(opts: { run: CommandRunner; networkInterfaces?: ListNetworkInterfaces }) {
    this.run = opts.run;
    this.listInterfaces = opts.networkInterfaces ?? networkInterfaces;
  }

  defaultStateDir(): string {
    return "/Library/Application Support/Tether";
  }

  async restrictFile(path: string): Promise<void> {
    await chmod(path, 0o600);
  }

  async restrictDirectory(path: string): Promise<void> {
    await chmod(path, 0o700);
  }

  scriptHost(): ScriptHost {
    return new DarwinScriptHost({ run: this.run });
  }

  /** The .pkg installs the binary where `install` would and runs a plain `install`: there is no packaged layout. */
  installLayout(options: { packaged?: boolean } = {}): InstallLayout {
    if (options.packaged) throw new CliError("--packaged is for the deb, rpm and MSI packages: on macOS the .pkg runs a plain install", ExitCode.Usage);
    const stateDir = this.defaultStateDir();
    return {
      binary: "/usr/local/bin/tether-agent",
      configFile: `${stateDir}/agent.json`,
      bootstrapFile: `${stateDir}/bootstrap.json`,
      managedPreferencesFile: `/Library/Managed Preferences/${MANAGED_PREFERENCES_DOMAIN}.plist`,
      stateDir,
      logDir: "/Library/Logs/Tether",
    };
  }

  /**
   * bootstrap.json, then the configuration profile's managed preferences, which win: an MDM's profile is
   * the fleet's current word, a dropped file may be older.
   */
  async readProvisioning(layout: InstallLayout, root?: string): Promise<Provisioning> {
    let settings: ProvisionedSettings = {};
    if (layout.bootstrapFile) {
      const path = underRoot(root, layout.bootstrapFile);
      const text = await readOptionalFile(path);
      if (text !== undefined) settings = parseBootstrap(text, path);
    }
    if (layout.managedPreferencesFile) {
      const path = underRoot(root, layout.managedPreferencesFile);
      if (await readOptionalFile(path).then((t) => t !== undefined)) {
        // MDM clients write binary property lists; plutil prints any form as XML.
        const { stdout, stderr, exitCode } = await this.run(PLUTIL, ["-convert", "xml1", "-o", "-", path], { timeoutMs: 30_000 });
        if (exitCode !== 0) throw new ConfigError(`cannot read ${path}: plutil exited with ${exitCode}: ${stderr.trim()}`);
        settings = { ...settings, ...parseManagedPreferences(stdout, path) };
      }
    }
    return {
      settings,
      where: `connectKey in ${layout.bootstrapFile ?? "bootstrap.json"}, or ConnectKey in a configuration profile for ${MANAGED_PREFERENCES_DOMAIN}`,
      consume: async () => {},
    };
  }

  serviceManager(layout: InstallLayout, root?: string): ServiceManager {
    return new LaunchdService({ run: this.run, layout, root });
  }

  async machineFingerprint(): Promise<MachineFingerprint> {
    const [platform, macs] = await Promise.all([
      this.ioregPlatform(),
      hardwareMacs(this.listInterfaces(), async (iface) => !HARDWARE_INTERFACE.test(iface)),
    ]);
    return { machineId: platform.uuid, serial: platform.serial, macs };
  }

  private async ioregPlatform(): Promise<IoregPlatform> {
    try {
      const { stdout, exitCode } = await this.run(IOREG, ["-rd1", "-c", "IOPlatformExpertDevice"], { timeoutMs: 15_000 });
      return exitCode === 0 ? parseIoregPlatform(stdout) : {};
    } catch {
      return {};
    }
  }
}
