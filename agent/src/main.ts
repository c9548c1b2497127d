import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { ConnectKeyFormatError } from "../../shared/src/connect-key.js";
import { CaPinMismatchError, ServerUnreachableError, TlsTrustError } from "../../shared/src/net-errors.js";
import { CloseCode } from "../../shared/src/protocol/close-codes.js";
import { sameMachine, type MachineFacts } from "../../shared/src/protocol/machine.js";
import { ALL_CAPABILITIES, Capability, PROTOCOL_VERSION } from "../../shared/src/protocol/version.js";
import { CommandHandler } from "./commands/handler.js";
import { fetchAttachment } from "./commands/fetch-file.js";
import { ExecutionJournal } from "./commands/journal.js";
import { AgentConnection, type ConnectionEnd } from "./connection/client.js";
import { Backoff } from "./connection/backoff.js";
import { runExecution } from "./executor/run-execution.js";
import { ExitCode } from "./exit-codes.js";
import { enroll, EnrollmentRefusedError } from "./identity/enroll.js";
import { CertificateRenewer } from "./identity/renewal.js";
import { IdentityStore, type Identity } from "./identity/store.js";
import { collectInventory } from "./inventory/collect.js";
import { InventoryReporter } from "./inventory/reporter.js";
import { selectPlatformDriver } from "./os/select.js";
import type { InstallLayout, PlatformDriver, ServiceManager } from "./os/types.js";
import { forgetDevice, markDeleted, readDeletedMarker } from "./service/device-state.js";
import { installedByPackage } from "./service/install.js";
import { writeStatus, type AgentStatus } from "./status.js";
import { AGENT_VERSION } from "./version.js";

export interface RunOptions {
  stateDir?: string | undefined;
  connectKey?: string | undefined;
  /** The connect key is agent.json's, not one given now: it does not re-enroll a device an admin deleted. */
  connectKeyFromConfig?: boolean | undefined;
  displayName?: string | undefined;
  groups?: string[] | undefined;
  serverUrl?: string | undefined;
  /** Image mode: the machine the image was made on, where the agent must not enroll. */
  imageSource?: MachineFacts | undefined;
  /** This run is the installed service (agent.json at its standard place): a deleted device removes it. */
  installed?: boolean | undefined;
  inventoryIntervalMs: number;
  logger: Logger;
}

/** The platform driver for this OS: the one place in the agent that picks it. */
export function platformDriver(): PlatformDriver {
  return selectPlatformDriver();
}

export function resolveStateDir(stateDir: string | undefined, platform: PlatformDriver = platformDriver()): string {
  return stateDir ?? platform.defaultStateDir();
}

/** This OS's install layout and the agent's service in its service manager (under `root` for a scratch root). */
export function installation(root?: string, packaged = false): { platform: PlatformDriver; layout: InstallLayout; service: ServiceManager; root?: string | undefined } {
  const platform = platformDriver();
  const layout = platform.installLayout({ packaged });
  return { platform, layout, service: platform.serviceManager(layout, root), root };
}

type Outcome = { code: ExitCode; message: string };

const IMAGE_RECHECK_MS = 10 * 60_000;

/**
 * The agent's composition root: enroll if needed, then keep the connection with inventory, commands and
 * certificate renewal until stopped or the server ends this identity. A cloned identity is replaced by a
 * fresh enrollment when a connect key is at hand. Returns the exit status.
 */
export async function runAgent(options: RunOptions): Promise<ExitCode> {
  const { logger } = options;
  const platform = platformDriver();
  const stateDir = resolveStateDir(options.stateDir, platform);
  const store = new IdentityStore(stateDir, platform);
  // One write at a time, in order: a later state must not be overtaken by an earlier one.
  let statusWrites = Promise.resolve();
  const status = (state: AgentStatus["state"], detail?: string) =>
    (statusWrites = statusWrites
      .then(() => writeStatus(stateDir, { state, since: new Date().toISOString(), detail: detail ?? null, pid: process.pid, agentVersion: AGENT_VERSION }))
      .catch((error: unknown) => logger.debug({ err: error }, "could not write status.json")));
  const fail = async ({ code, message }: Outcome): Promise<ExitCode> => {
    logger.error(message);
    await status("stopped", message);
    return code;
  };

  // The signal may arrive during enrollment, before the connection exists.
  const stopping = new AbortController();
  let connection: AgentConnection | undefined;
  const stop = (signal: string) => {
    logger.info({ signal }, "stopping");
    stopping.abort();
    connection?.stop();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));

  /**
   * Image mode on the image's own machine: no enrollment. The machine id changes at boot (a cleared
   * /etc/machine-id is regenerated), so this only re-checks now and then. True: stopped while waiting.
   */
  const waitForNewMachine = async (source: MachineFacts): Promise<boolean> => {
    let said = false;
    while (sameMachine(source, await platform.machineFingerprint())) {
      if (!said) {
        const detail = "image mode: this is the machine the image is made on; the agent enrolls when it starts on a machine made from the image";
        logger.info(detail);
        await status("waiting", detail);
        said = true;
      }
      try {
        await sleep(IMAGE_RECHECK_MS, undefined, { signal: stopping.signal });
      } catch {
        return true;
      }
    }
    return false;
  };

  /** Enrolls this machine, unless something says it must not: returns the new identity or why not. */
  const enrollThisMachine = async (clonedFrom: string | undefined): Promise<Identity | ExitCode> => {
    const deleted = options.connectKeyFromConfig ? await readDeletedMarker(stateDir) : undefined;
    if (deleted) {
      return fail({
        code: ExitCode.DeviceRevoked,
        message: `this machine's device ${deleted.deviceId} was deleted on the control plane at ${deleted.deletedAt}; run "tether-agent install" to enroll it again`,
      });
    }
    if (!options.connectKey) {
      return fail({ code: ExitCode.NotEnrolled, message: `this machine is not enrolled (no identity in ${stateDir}): give --connect-key` });
    }
    if (options.imageSource && (await waitForNewMachine(options.imageSource))) return ExitCode.Ok;
    await status("enrolling");
    const enrolled = await enrollWithRetry(options, platform, logger, stopping.signal);
    if (!enrolled) return ExitCode.Ok;
    if ("code" in enrolled) return fail(enrolled);
    const identity: Identity = clonedFrom ? { ...enrolled, clonedFrom } : enrolled;
    await store.save(identity);
    logger.info({ deviceId: identity.deviceId, server: identity.serverUrl, ...(clonedFrom ? { clonedFrom } : {}) }, "enrolled");
    return identity;
  };

  /** One identity's connection, with everything that runs over it, until it ends for good or stop(). */
  const serve = async (identity: Identity): Promise<ConnectionEnd> => {
    let current: Identity = identity;
    const host = platform.scriptHost?.();
    const commands = host
      ? new CommandHandler({
          journal: new ExecutionJournal(stateDir),
          host,
          run: runExecution,
          fetchFile: (sha256) => fetchAttachment(current, sha256),
          logger,
        })
      : undefined;
    await commands?.recover();
    const inventory = new InventoryReporter({ collect: () => collectInventory(), logger, intervalMs: options.inventoryIntervalMs });
    const renewer = new CertificateRenewer({ store, identity: () => current, replaceIdentity: (next) => (current = next), logger });
    connection = new AgentConnection({
      logger,
      identity: () => current,
      hello: async () => ({
        type: "hello",
        protocolVersion: PROTOCOL_VERSION,
        agentVersion: AGENT_VERSION,
        deviceId: current.deviceId,
        // Commands only when this platform can run scripts.
        capabilities: ALL_CAPABILITIES.filter((c) => c !== Capability.Commands || commands !== undefined),
        os: { platform: platform.name, arch: process.arch, hostname: hostname() },
        machine: await platform.machineFingerprint(),
        ...(current.clonedFrom ? { clonedFrom: current.clonedFrom } : {}),
      }),
      onWelcome: (welcome, sink) => {
        inventory.onWelcome(welcome, sink);
        renewer.onWelcome(sink);
        void commands?.onWelcome(sink).catch((error: unknown) => logger.error({ err: error }, "could not send stored results"));
      },
      onMessage: (message) => {
        const failed = (what: string) => (error: unknown) => logger.error({ err: error }, what);
        switch (message.type) {
          case "cert.renewed":
            void renewer.onRenewed(message).catch(failed("could not save the renewed certificate"));
            return;
          case "error":
            renewer.onError(message);
            return;
          case "exec.run":
            void commands?.onRun(message.execution).catch(failed("could not journal an execution"));
            return;
          case "exec.cancel":
            commands?.onCancel(message.executionId);
            return;
          case "exec.ack":
            void commands?.onAck(message.executionId).catch(failed("could not record an acknowledgement"));
            return;
        }
      },
      onState: (state, detail) => void status(state, detail),
    });
    if (stopping.signal.aborted) connection.stop();
    const end = await connection.run();
    inventory.stop();
    renewer.stop();
    return end;
  };

  let identity = await store.load();
  let clonedFrom: string | undefined;
  for (;;) {
    if (!identity) {
      const enrolled = await enrollThisMachine(clonedFrom);
      if (typeof enrolled === "number") return enrolled;
      identity = enrolled;
    }
    if (stopping.signal.aborted) return ExitCode.Ok;
    if (Date.parse(identity.certificateExpiresAt) <= Date.now()) {
      return fail({
        code: ExitCode.CertificateExpired,
        message: `the device certificate expired at ${identity.certificateExpiresAt}: run "tether-agent reset-identity" and enroll again`,
      });
    }
    const end = await serve(identity);
    if (end.kind === "stopped") return ExitCode.Ok;
    // The clone rule's second half: this machine is not the one the identity belongs to. With a connect
    // key it becomes a device of its own; the original keeps the identity and keeps working. Once per run:
    // an identity enrolled a moment ago that is refused as a clone again means something else is wrong,
    // and enrolling in a loop would fill the control plane with devices.
    if (end.code === CloseCode.CloneDetected && options.connectKey && !clonedFrom) {
      logger.warn({ deviceId: identity.deviceId, reason: end.reason }, "this identity belongs to another machine: enrolling this machine as a new device");
      await statusWrites;
      await forgetDevice(store);
      clonedFrom = identity.deviceId;
      identity = undefined;
      continue;
    }
    const outcome = await closeOutcome(end.code, end.reason, identity, store);
    const code = await fail(outcome);
    if (code === ExitCode.DeviceRevoked && options.installed) await removeInstallation(logger);
    return code;
  }
}

/** What a fatal close code means for this identity, after acting on it. */
async function closeOutcome(code: number, reason: string, identity: Identity, store: IdentityStore): Promise<Outcome> {
  switch (code) {
    case CloseCode.DeviceRevoked:
      await store.wipe();
      await markDeleted(store.stateDir, { deviceId: identity.deviceId, deletedAt: new Date().toISOString() });
      return { code: ExitCode.DeviceRevoked, message: `this device was deleted on the control plane (${reason}); its identity was wiped` };
    case CloseCode.UnknownDevice:
      return { code: ExitCode.UnknownDevice, message: `the control plane does not know this device (${reason}); run "tether-agent reset-identity" and enroll again` };
    case CloseCode.UnsupportedProtocol:
      return { code: ExitCode.UnsupportedProtocol, message: `the control plane does not serve this agent version (${reason}); upgrade the agent` };
    case CloseCode.Replaced:
      return { code: ExitCode.ReplacedByAnotherInstance, message: `another agent process connected with this identity (${reason}); stopping so only one runs` };
    case CloseCode.CloneDetected:
      return {
        code: ExitCode.CloneDetected,
        message: `this identity is in use on another machine (${reason}); enroll this machine with "tether-agent install --connect-key …"`,
      };
    default:
      return { code: ExitCode.Failure, message: `the control plane closed the session with ${code} (${reason})` };
  }
}

/**
 * A deleted device's installed agent removes its service and binary (as a JumpCloud agent does), keeping
 * its settings, state and logs; deleted.json keeps it from enrolling again should anything start it.
 */
async function removeInstallation(logger: Logger): Promise<void> {
  const { layout, service } = installation();
  const manager = await installedByPackage(layout);
  try {
    await service.unregisterFromInside();
    // The package's files stay the package manager's to remove; the service is off either way.
    if (manager) {
      logger.info(`removed the ${service.serviceName} service; the ${manager} package stays installed until it is removed`);
      return;
    }
    await rm(layout.binary, { force: true }).catch((error: unknown) => logger.warn({ err: error }, `could not remove ${layout.binary}`));
    logger.info(`removed the ${service.serviceName} service and ${layout.binary}`);
  } catch (error) {
    logger.error({ err: error }, `could not remove the ${service.serviceName} service; run "tether-agent uninstall"`);
  }
}

/**
 * Enrolls, retrying while the server cannot be reached (a service may start before the network).
 * Undefined: stopped meanwhile.
 */
async function enrollWithRetry(options: RunOptions, platform: PlatformDriver, logger: Logger, stopped: AbortSignal): Promise<Identity | Outcome | undefined> {
  const backoff = new Backoff(1000, 60_000);
  for (;;) {
    try {
      return await enroll({
        connectKey: options.connectKey!,
        hostname: hostname(),
        platform: platform.name,
        displayName: options.displayName,
        deviceGroups: options.groups,
        serverUrl: options.serverUrl,
      });
    } catch (error) {
      if (error instanceof ConnectKeyFormatError) return { code: ExitCode.Usage, message: `the connect key is not valid: ${error.message}` };
      if (error instanceof EnrollmentRefusedError) return { code: ExitCode.EnrollmentRefused, message: error.message };
      if (error instanceof CaPinMismatchError || error instanceof TlsTrustError) return { code: ExitCode.CaPinMismatch, message: error.message };
      if (!(error instanceof ServerUnreachableError)) throw error;
      const delay = backoff.next();
      logger.warn({ retryInMs: delay }, `enrollment: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (stopped.aborted) return undefined;
    }
  }
}
