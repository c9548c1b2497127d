import { chmod } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import type { MachineFingerprint } from "../../../../shared/src/protocol/inventory.js";
import type { ScriptHost } from "../../executor/types.js";
import { hardwareMacs } from "../macs.js";
import type { CommandRunner, InstallLayout, ListNetworkInterfaces, PlatformDriver, ServiceManager } from "../types.js";
import { DarwinScriptHost } from "./exec.js";
import { LaunchdService } from "./service.js";
import { type IoregPlatform, parseIoregPlatform } from "./ioreg.js";

// An absolute path: the agent runs as root, and a PATH lookup would let any directory on it supply "ioreg".
const IOREG = "/usr/sbin/ioreg";

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

  installLayout(): InstallLayout {
    const stateDir = this.defaultStateDir();
    return { binary: "/usr/local/bin/tether-agent", configFile: `${stateDir}/agent.json`, stateDir, logDir: "/Library/Logs/Tether" };
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
