import { chmod, readFile, realpath } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import type { MachineFingerprint } from "../../../../shared/src/protocol/inventory.js";
import type { ScriptHost } from "../../executor/types.js";
import { hardwareMacs } from "../macs.js";
import { runCommand } from "../run.js";
import { readDefaults } from "../../service/config.js";
import { underRoot } from "../../service/files.js";
import type { CommandRunner, InstallLayout, ListNetworkInterfaces, PlatformDriver, Provisioning, ServiceManager } from "../types.js";
import { LinuxScriptHost } from "./exec.js";
import { SystemdService } from "./service.js";
import { SYSTEMD_PACKAGE_UNIT_DIR } from "./service-unit.js";

/** Written by the deb and rpm packages; its one line names the package manager. */
export const LINUX_PACKAGE_MARKER = "/usr/lib/tether-agent/packaged";

export interface LinuxPaths {
  /** Tried in order; the D-Bus copy exists on systems without systemd. */
  machineIdFiles: readonly string[];
  /** Readable by root only on most distributions, which is how the agent runs. */
  productSerialFile: string;
  sysClassNet: string;
}

const defaultLinuxPaths: LinuxPaths = {
  machineIdFiles: ["/etc/machine-id", "/var/lib/dbus/machine-id"],
  productSerialFile: "/sys/class/dmi/id/product_serial",
  sysClassNet: "/sys/class/net",
};

// A machine-id is 32 lower-case hex digits; an empty file or systemd's early-boot "uninitialized" is not one.
const MACHINE_ID = /^[0-9a-f]{32}$/;

export class LinuxPlatform implements PlatformDriver {
  readonly name = "linux";
  private readonly paths: LinuxPaths;
  private readonly listInterfaces: ListNetworkInterfaces;
  private readonly run: CommandRunner;

  constructor(opts: { paths?: Partial<LinuxPaths>; networkInterfaces?: ListNetworkInterfaces; run?: CommandRunner } = {}) {
    this.paths = { ...defaultLinuxPaths, ...opts.paths };
    this.listInterfaces = opts.networkInterfaces ?? networkInterfaces;
    this.run = opts.run ?? runCommand;
  }

  defaultStateDir(): string {
    return "/var/lib/tether-agent";
  }

  async restrictFile(path: string): Promise<void> {
    await chmod(path, 0o600);
  }

  async restrictDirectory(path: string): Promise<void> {
    await chmod(path, 0o700);
  }

  scriptHost(): ScriptHost {
    return new LinuxScriptHost({ run: this.run });
  }

  installLayout(options: { packaged?: boolean } = {}): InstallLayout {
    return {
      // The deb and rpm put the binary where packages put theirs; /usr/local is the admin's own.
      binary: options.packaged ? "/usr/bin/tether-agent" : "/usr/local/bin/tether-agent",
      configFile: "/etc/tether-agent/agent.json",
      defaultsFile: "/etc/default/tether-agent",
      stateDir: this.defaultStateDir(),
      packageMarker: LINUX_PACKAGE_MARKER,
      ...(options.packaged ? { packaged: true } : {}),
    };
  }

  serviceManager(layout: InstallLayout, root?: string): ServiceManager {
    return new SystemdService({ run: this.run, layout, root, ...(layout.packaged ? { unitDir: SYSTEMD_PACKAGE_UNIT_DIR } : {}) });
  }

  async readProvisioning(layout: InstallLayout, root?: string): Promise<Provisioning> {
    const path = layout.defaultsFile && underRoot(root, layout.defaultsFile);
    return {
      settings: path ? await readDefaults(path) : {},
      where: layout.defaultsFile ? `CONNECT_KEY in ${layout.defaultsFile}` : "no file",
      consume: async () => {},
    };
  }

  async machineFingerprint(): Promise<MachineFingerprint> {
    const [machineId, serial, macs] = await Promise.all([
      this.machineId(),
      readTrimmed(this.paths.productSerialFile),
      hardwareMacs(this.listInterfaces(), (iface) => this.isVirtual(iface)),
    ]);
    return { machineId, serial, macs };
  }

  private async machineId(): Promise<string | undefined> {
    for (const file of this.paths.machineIdFiles) {
      const id = await readTrimmed(file);
      if (id && MACHINE_ID.test(id)) return id;
    }
    return undefined;
  }

  /** Software interfaces live under /sys/devices/virtual; hardware ones under their bus (pci, usb, …). */
  private async isVirtual(iface: string): Promise<boolean> {
    // An alias such as "eth0:1" is an address label on eth0, which is what /sys knows.
    const device = iface.split(":")[0] ?? iface;
    try {
      return (await realpath(join(this.paths.sysClassNet, device))).includes("/devices/virtual/");
    } catch {
      // Not in /sys at all (another network namespace's view, or no sysfs): nothing says it is hardware.
      return true;
    }
  }
}

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}
