import type { NetworkInterfaceInfo } from "node:os";
import type { MachineFingerprint } from "../../../shared/src/protocol/inventory.js";
import type { ScriptHost } from "../executor/types.js";

/** What a finished process left behind. `exitCode` is always a real exit code: see run.ts. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs one program with an argument array. There is deliberately no way to pass a shell string:
 * names and paths that reach OS tools come from data, and a shell would let them become syntax.
 */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  opts?: { timeoutMs?: number },
) => Promise<CommandResult>;

/** The shape of `os.networkInterfaces()`, injectable so drivers can be tested with canned interfaces. */
export type ListNetworkInterfaces = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * Where an installed agent lives on this OS: absolute paths as the installed service sees them.
 * `tether-agent install --root DIR` writes the same files under DIR (see service/files.ts).
 */
export interface InstallLayout {
  /** The agent's executable. */
  binary: string;
  /** agent.json: what `install` writes and `run` reads (connect key, display name, groups, state dir). */
  configFile: string;
  /** KEY=VALUE settings a package may leave for `install` (Linux: /etc/default/tether-agent). Absent: none here. */
  defaultsFile?: string;
  /** JSON settings an admin or MDM drops before installing the package (macOS: bootstrap.json). */
  bootstrapFile?: string;
  /** The configuration profile's managed preferences for the agent (macOS). */
  managedPreferencesFile?: string;
  /** Registry key whose values the MSI writes from its public properties (Windows). */
  registryKey?: string;
  /**
   * Present when an OS package (deb, rpm, MSI) installed the agent: its content names the package
   * manager. The package owns the binary and the service definition, so `uninstall` leaves them to it.
   */
  packageMarker?: string;
  /** This layout is a package's: the binary and service definition are the package's files, not install's. */
  packaged?: boolean;
  stateDir: string;
  /** Where the service manager writes the agent's output. Absent: the OS journal keeps it. */
  logDir?: string;
}

/** Settings for `install` that a package, a provisioning tool or an MDM left on the machine. */
export interface ProvisionedSettings {
  connectKey?: string;
  displayName?: string;
  serverUrl?: string;
  groups?: string[];
}

export interface Provisioning {
  settings: ProvisionedSettings;
  /** Where a connect key can be left on this OS, for messages ("CONNECT_KEY in /etc/default/tether-agent"). */
  where: string;
  /** Once agent.json holds the settings: removes copies that others may read (the MSI's registry values). */
  consume(): Promise<void>;
}

/** What the service manager says about the agent's service. */
export interface ServiceState {
  /** Registered with the service manager (enabled, bootstrapped, installed). */
  registered: boolean;
  running: boolean;
  /** The agent's last exit status, when the service manager knows one. */
  lastExitStatus?: number;
  /** The service manager's own words, for people: "active (running)", "failed (status 3)", … */
  detail: string;
}

/**
 * The agent as a service of this OS's service manager (systemd, launchd, WinSW). Drivers get their
 * command runner and paths injected; every operation is idempotent, so `install` can run again over an
 * existing installation (an upgrade, or a machine made from an image).
 */
export interface ServiceManager {
  /** The name the service manager knows it by: tether-agent.service, dev.tether.agent, tether-agent. */
  readonly serviceName: string;
  /** Where to read the agent's output, for people: a command or a path. */
  readonly logs: string;
  /** The files that define the service (unit, plist, wrapper and its XML), as paths on the target system. */
  readonly definitionFiles: readonly string[];
  /** Writes those files (under the install root, when there is one). */
  writeDefinition(): Promise<void>;
  removeDefinition(): Promise<void>;
  /** Makes the service start at boot. Needs the definition written. */
  register(): Promise<void>;
  /** Stops the service and removes its registration; nothing to do when it is not registered. */
  unregister(): Promise<void>;
  /** Starts the service, or restarts it when it runs (so an upgraded binary takes over). */
  start(): Promise<void>;
  stop(): Promise<void>;
  state(): Promise<ServiceState>;
  /**
   * Run by the agent inside its own service when its device was deleted: removes the registration and
   * the definition without waiting for this process to end (stopping it would wait for the caller).
   */
  unregisterFromInside(): Promise<void>;
}

/** The per-OS facts and file-system rules the rest of the agent needs, whatever it runs on. */
export interface PlatformDriver {
  readonly name: "linux" | "darwin" | "windows";
  /** Where the agent keeps its key, certificate, config and outbox when not told otherwise. */
  defaultStateDir(): string;
  /** Makes a file (private key, config) readable and writable by the service account and administrators only. */
  restrictFile(path: string): Promise<void>;
  /** The same for a directory, and for everything later created inside it where the OS inherits rights. */
  restrictDirectory(path: string): Promise<void>;
  /** Never throws for a missing fact: a field the OS does not offer is left out. */
  machineFingerprint(): Promise<MachineFingerprint>;
  /** How scripts run here (shells, run-as, killing a process tree). Absent: this driver cannot run scripts. */
  scriptHost?(): ScriptHost;
  /** The standard places of an installed agent on this OS; `packaged`: those of the OS package (deb, rpm, MSI). */
  installLayout(options?: { packaged?: boolean }): InstallLayout;
  /** Settings left for `install` in this OS's places of `layout` (under `root` for a scratch root). */
  readProvisioning(layout: InstallLayout, root?: string): Promise<Provisioning>;
  /** The agent's service for `layout`; with `root`, its files are written under that directory instead of `/`. */
  serviceManager(layout: InstallLayout, root?: string): ServiceManager;
}
