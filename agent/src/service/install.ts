import { existsSync } from "node:fs";
import { readFile, realpath, rm, rmdir } from "node:fs/promises";
import { dirname } from "node:path";
import { CliError } from "../../../shared/src/cli/run-cli.js";
import { ConnectKeyFormatError, decodeConnectKey } from "../../../shared/src/connect-key.js";
import { canTellApart } from "../../../shared/src/protocol/machine.js";
import { ExitCode } from "../exit-codes.js";
import { IdentityStore } from "../identity/store.js";
import type { InstallLayout, PlatformDriver, Provisioning, ServiceManager } from "../os/types.js";
import { AgentConfigSchema, ConfigError, readConfig, writeConfig, type AgentConfig } from "./config.js";
import { clearDeletedMarker, readDeletedMarker } from "./device-state.js";
import type { AgentExecutable } from "./executable.js";
import { installExecutable, underRoot } from "./files.js";
import { waitForAgent } from "./wait.js";

/** An installation target: this OS's layout and service, on this system or under a scratch root. */
export interface Installation {
  platform: PlatformDriver;
  layout: InstallLayout;
  service: ServiceManager;
  root?: string | undefined;
}

export interface InstallOptions {
  connectKey?: string | undefined;
  displayName?: string | undefined;
  groups?: string[] | undefined;
  serverUrl?: string | undefined;
  /** Prepare a system image: never enroll on this machine, only on machines made from its image. */
  image: boolean;
  /** Register and start the service (false: --no-start, files only). */
  start: boolean;
  /** How long to wait for the agent to connect; 0: do not wait. */
  timeoutMs: number;
}

/**
 * `tether-agent install`: binary, config and service definition into place, then (unless told not to)
 * registered, started, and watched until the agent connects. Running it again is how an installation
 * is upgraded or repaired, and how a machine made from an image is enrolled at once: settings not
 * given again are kept from the existing agent.json.
 */
export async function install(target: Installation, options: InstallOptions, executable: AgentExecutable, print: (line: string) => void): Promise<ExitCode> {
  const { platform, layout, service, root } = target;
  const local = (path: string) => underRoot(root, path);
  const { config, provisioning } = await settingsFor(target, options);
  if (!config.connectKey) {
    if (layout.packaged) {
      // A package installed without a key (an image, config management) is fine: enrolling comes later.
      print(`No connect key yet: the service stays off. Give one with "tether-agent install --packaged --connect-key KEY" (or ${provisioning.where}, then run that command without --connect-key).`);
      return ExitCode.Ok;
    }
    throw new CliError(`a connect key is needed: give --connect-key (or ${provisioning.where})`, ExitCode.Usage);
  }
  const stateDir = config.stateDir ?? layout.stateDir;

  if (options.image) {
    const enrolled = await new IdentityStore(local(stateDir), platform).load();
    if (enrolled) {
      throw new CliError(`this machine is enrolled (device ${enrolled.deviceId}): to prepare it for an image, run "tether-agent reset-identity --image" instead`, ExitCode.Usage);
    }
    config.image = await imageSettings(platform);
  }

  const binary = local(layout.binary);
  if (layout.packaged) {
    // The package manager owns the binary and the service definition; install only configures and starts.
    const missing = [binary, ...service.definitionFiles.map(local)].filter((path) => !existsSync(path));
    if (missing.length) throw new CliError(`--packaged, but the package's ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} missing: reinstall the package`, ExitCode.Usage);
  } else {
    if (executable.kind === "script" && platform.name === "windows") {
      throw new CliError("the agent runs from a source checkout, which cannot be a Windows service: install the native binary (npm run build:agent) or the MSI");
    }
    if (executable.kind === "script") await installExecutable(Buffer.from(executable.content), binary);
    else if (!(await samePath(executable.path, binary))) await installExecutable(executable.path, binary);
    print(`Installed ${binary}${executable.kind === "script" ? " (a script that runs this source checkout)" : ""}`);
  }

  const deleted = await readDeletedMarker(local(stateDir));
  if (deleted && layout.packaged && !options.connectKey) {
    // A package upgrade must not bring back a device an admin deleted; an explicit key does.
    print(`An admin deleted this device (${deleted.deviceId}) on ${deleted.deletedAt}: the service stays off. To enroll it again: tether-agent install --packaged --connect-key KEY`);
    return ExitCode.Ok;
  }
  await writeConfig(local(layout.configFile), config, platform);
  await provisioning.consume();
  await clearDeletedMarker(local(stateDir));
  print(`Wrote ${local(layout.configFile)}${options.image ? " (image mode: enrolls only on machines made from this one)" : ""}`);

  if (!layout.packaged) {
    await service.writeDefinition();
    print(`Wrote ${service.definitionFiles.map(local).join(", ")}`);
  }
  if (!options.start) {
    print("Not registered or started (--no-start): run \"tether-agent service start\" when ready.");
    return ExitCode.Ok;
  }
  if (root) {
    await service.register();
    print(`Registered ${service.serviceName} in ${root}: it starts when that system boots.`);
    return ExitCode.Ok;
  }
  return startAndWait(target, stateDir, options.timeoutMs, print);
}

/** Image mode's settings: this machine is the image's source, where the agent must not enroll. */
export async function imageSettings(platform: PlatformDriver): Promise<NonNullable<AgentConfig["image"]>> {
  const here = await platform.machineFingerprint();
  if (!canTellApart(here)) {
    throw new CliError(
      'this machine reports no machine id and no hardware serial, so machines made from its image could not be told from it: run "tether-agent reset-identity" right before capturing the image instead (docs/service.md)',
      ExitCode.Usage,
    );
  }
  return { sourceMachine: { machineId: here.machineId, serial: here.serial }, preparedAt: new Date().toISOString() };
}

/** Registers (if needed) and (re)starts the service, then waits for the agent as `install` does. */
export async function startAndWait(target: Installation, stateDir: string, timeoutMs: number, print: (line: string) => void): Promise<ExitCode> {
  const { service, platform } = target;
  await service.register();
  const startedAt = Date.now();
  await service.start();
  if (timeoutMs <= 0) {
    print(`Started ${service.serviceName}.`);
    return ExitCode.Ok;
  }
  print(`Started ${service.serviceName}; waiting for the agent to connect…`);
  return waitForAgent({ platform, service, stateDir, startedAt, timeoutMs, print });
}

/**
 * The config to write: flags, then what a package or MDM left (platform.readProvisioning), then the
 * existing agent.json. The connect key may still be missing: the caller decides what that means.
 */
async function settingsFor(target: Installation, options: InstallOptions): Promise<{ config: AgentConfig; provisioning: Provisioning }> {
  const local = (path: string) => underRoot(target.root, path);
  let existing: AgentConfig | undefined;
  let provisioning: Provisioning;
  try {
    existing = await readConfig(local(target.layout.configFile));
    provisioning = await target.platform.readProvisioning(target.layout, target.root);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`${error.message}: fix it or remove it`, ExitCode.Usage);
    throw error;
  }
  const given = {
    ...(options.connectKey ? { connectKey: options.connectKey } : {}),
    ...(options.displayName ? { displayName: options.displayName } : {}),
    ...(options.groups?.length ? { groups: options.groups } : {}),
    ...(options.serverUrl ? { serverUrl: options.serverUrl } : {}),
  };
  // A new install (not a re-run) leaves image mode unless --image says otherwise.
  const { image: _image, ...kept } = existing ?? {};
  const parsed = AgentConfigSchema.safeParse({ ...kept, ...provisioning.settings, ...given });
  if (!parsed.success) {
    throw new CliError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "), ExitCode.Usage);
  }
  const config = parsed.data;
  if (config.connectKey) {
    try {
      decodeConnectKey(config.connectKey);
    } catch (error) {
      // The message never repeats the key: it is a secret, and install's output ends up in package logs.
      if (error instanceof ConnectKeyFormatError) throw new CliError(`the connect key is not valid: ${error.message}`, ExitCode.Usage);
      throw error;
    }
  }
  return { config, provisioning };
}

/**
 * `tether-agent uninstall`: stops and unregisters the service, removes its definition and the binary.
 * With `purge`, also agent.json, the state directory (identity, journal) and the logs.
 */
export async function uninstall(target: Installation, purge: boolean, print: (line: string) => void): Promise<void> {
  const { layout, service, root } = target;
  const local = (path: string) => underRoot(root, path);
  const manager = await installedByPackage(layout, root);
  if (manager) {
    throw new CliError(`a ${manager} package installed this agent: remove it with ${PACKAGE_REMOVAL[manager] ?? "its package manager"}`, ExitCode.Usage);
  }
  const config = await readConfig(local(layout.configFile)).catch(() => undefined);
  await service.unregister();
  await service.removeDefinition();
  print(`Removed the ${service.serviceName} service`);
  await removeBinary(local(layout.binary), print);
  if (!purge) return;
  const stateDir = local(config?.stateDir ?? layout.stateDir);
  await rm(local(layout.configFile), { force: true });
  await rmdir(dirname(local(layout.configFile))).catch(() => undefined);
  await rm(stateDir, { recursive: true, force: true });
  if (layout.logDir) await rm(local(layout.logDir), { recursive: true, force: true });
  print(`Removed ${local(layout.configFile)} and ${stateDir}${layout.logDir ? ` and ${local(layout.logDir)}` : ""}`);
}

const PACKAGE_REMOVAL: Record<string, string> = {
  deb: '"apt remove tether-agent" ("apt purge tether-agent" also removes settings and state)',
  rpm: '"dnf remove tether-agent" (or "rpm -e tether-agent"); settings and state stay in /etc/tether-agent and /var/lib/tether-agent',
  msi: 'Settings > Apps, or "msiexec /x tether-agent.msi"',
};

/** The package manager that installed the agent (deb, rpm, msi), or undefined when `install` did. */
export async function installedByPackage(layout: InstallLayout, root?: string): Promise<string | undefined> {
  if (!layout.packageMarker) return undefined;
  try {
    return (await readFile(underRoot(root, layout.packageMarker), "utf8")).trim() || "OS";
  } catch {
    return undefined;
  }
}

async function removeBinary(path: string, print: (line: string) => void): Promise<void> {
  try {
    await rm(path, { force: true });
    print(`Removed ${path}`);
  } catch (error) {
    // Windows does not delete an executable that runs, and this may be the one running now.
    print(`Could not remove ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): delete it once this program has ended`);
  }
}

async function samePath(a: string, b: string): Promise<boolean> {
  try {
    return (await realpath(a)) === (await realpath(b));
  } catch {
    return false;
  }
}
