import { hostname } from "node:os";
import type { Logger } from "pino";
import { ConnectKeyFormatError } from "../../shared/src/connect-key.js";
import { CaPinMismatchError, ServerUnreachableError, TlsTrustError } from "../../shared/src/net-errors.js";
import { CloseCode } from "../../shared/src/protocol/close-codes.js";
import { ALL_CAPABILITIES, Capability, PROTOCOL_VERSION } from "../../shared/src/protocol/version.js";
import { CommandHandler } from "./commands/handler.js";
import { fetchAttachment } from "./commands/fetch-file.js";
import { ExecutionJournal } from "./commands/journal.js";
import { AgentConnection } from "./connection/client.js";
import { Backoff } from "./connection/backoff.js";
import { runExecution } from "./executor/run-execution.js";
import { ExitCode } from "./exit-codes.js";
import { enroll, EnrollmentRefusedError } from "./identity/enroll.js";
import { CertificateRenewer } from "./identity/renewal.js";
import { IdentityStore, type Identity } from "./identity/store.js";
import { collectInventory } from "./inventory/collect.js";
import { InventoryReporter } from "./inventory/reporter.js";
import { selectPlatformDriver } from "./os/select.js";
import type { PlatformDriver } from "./os/types.js";
import { writeStatus, type AgentStatus } from "./status.js";
import { AGENT_VERSION } from "./version.js";

export interface RunOptions {
  stateDir?: string | undefined;
  connectKey?: string | undefined;
  displayName?: string | undefined;
  groups?: string[] | undefined;
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

/**
 * The agent's composition root: enroll if needed, then keep the connection with inventory and
 * certificate renewal until stopped or the server ends this identity. Returns the exit status.
 */
export async function runAgent(options: RunOptions): Promise<ExitCode> {
  const { logger } = options;
  const platform = platformDriver();
  const stateDir = resolveStateDir(options.stateDir, platform);
  const store = new IdentityStore(stateDir, platform);
  const status = (state: AgentStatus["state"], detail?: string) =>
    writeStatus(stateDir, { state, since: new Date().toISOString(), detail: detail ?? null, pid: process.pid, agentVersion: AGENT_VERSION }).catch(
      (error: unknown) => logger.debug({ err: error }, "could not write status.json"),
    );

  // The signal may arrive during enrollment, before the connection exists.
  const running: { stopRequested: boolean; connection?: AgentConnection } = { stopRequested: false };
  const stop = (signal: string) => {
    logger.info({ signal }, "stopping");
    running.stopRequested = true;
    running.connection?.stop();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));

  let identity = await store.load();
  if (!identity) {
    if (!options.connectKey) {
      logger.error(`this machine is not enrolled (no identity in ${stateDir}): give --connect-key`);
      return ExitCode.NotEnrolled;
    }
    await status("enrolling");
    const enrolled = await enrollWithRetry(options, platform, logger, () => running.stopRequested);
    if (typeof enrolled === "number") return enrolled;
    identity = enrolled;
    await store.save(identity);
    logger.info({ deviceId: identity.deviceId, server: identity.serverUrl }, "enrolled");
  }
  if (running.stopRequested) return ExitCode.Ok;
  if (Date.parse(identity.certificateExpiresAt) <= Date.now()) {
    logger.error(`the device certificate expired at ${identity.certificateExpiresAt}: run "tether-agent reset-identity" and enroll again`);
    return ExitCode.CertificateExpired;
  }

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
  const connection = new AgentConnection({
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
  running.connection = connection;
  const end = await connection.run();
  inventory.stop();
  renewer.stop();
  if (end.kind === "stopped") return ExitCode.Ok;
  return exitForClose(end.code, end.reason, store, logger);
}

async function exitForClose(code: number, reason: string, store: IdentityStore, logger: Logger): Promise<ExitCode> {
  switch (code) {
    case CloseCode.DeviceRevoked:
      await store.wipe();
      logger.error(`this device was deleted on the control plane (${reason}); its identity was wiped`);
      return ExitCode.DeviceRevoked;
    case CloseCode.UnknownDevice:
      logger.error(`the control plane does not know this device (${reason}); run "tether-agent reset-identity" and enroll again`);
      return ExitCode.UnknownDevice;
    case CloseCode.UnsupportedProtocol:
      logger.error(`the control plane does not serve this agent version (${reason}); upgrade the agent`);
      return ExitCode.UnsupportedProtocol;
    case CloseCode.Replaced:
      logger.error(`another agent process connected with this identity (${reason}); stopping so only one runs`);
      return ExitCode.ReplacedByAnotherInstance;
    case CloseCode.CloneDetected:
      logger.error(`this identity is in use on another machine (${reason}); run "tether-agent reset-identity" and enroll this machine again`);
      return ExitCode.CloneDetected;
    default:
      return ExitCode.Failure;
  }
}

/** Enrolls, retrying while the server cannot be reached (a service may start before the network). */
async function enrollWithRetry(
  options: RunOptions,
  platform: PlatformDriver,
  logger: Logger,
  stopped: () => boolean,
): Promise<Identity | ExitCode> {
  const backoff = new Backoff(1000, 60_000);
  for (;;) {
    try {
      return await enroll({
        connectKey: options.connectKey!,
        hostname: hostname(),
        platform: platform.name,
        displayName: options.displayName,
        deviceGroups: options.groups,
      });
    } catch (error) {
      if (error instanceof ConnectKeyFormatError) {
        logger.error(`the connect key is not valid: ${error.message}`);
        return ExitCode.Usage;
      }
      if (error instanceof EnrollmentRefusedError) {
        logger.error(error.message);
        return ExitCode.EnrollmentRefused;
      }
      if (error instanceof CaPinMismatchError || error instanceof TlsTrustError) {
        logger.error(error.message);
        return ExitCode.CaPinMismatch;
      }
      if (!(error instanceof ServerUnreachableError)) throw error;
      const delay = backoff.next();
      logger.warn({ retryInMs: delay }, `enrollment: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (stopped()) return ExitCode.Ok;
    }
  }
}
