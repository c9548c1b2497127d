import type { Logger } from "pino";
import type { BlobStore } from "../store/blobs.js";
import type { Stores } from "../store/index.js";
import { AgentSessionService } from "./agent-sessions.js";
import { ApiKeyService } from "./api-keys.js";
import type { Clock } from "./clock.js";
import { CommandService } from "./commands.js";
import { ConnectKeyService } from "./connect-keys.js";
import { DeviceGroupService } from "./device-groups.js";
import { DeviceService } from "./devices.js";
import { Dispatcher } from "./dispatcher.js";
import { EnrollmentService } from "./enrollment.js";
import { EventService } from "./events.js";
import { ExecutionService } from "./executions.js";
import { FileService } from "./files.js";
import type { AgentChannel, AgentPresence, DeviceCertificateSigner, ServerIdentity } from "./ports.js";
import { CommandScheduler } from "./scheduler.js";

export interface Services {
  apiKeys: ApiKeyService;
  connectKeys: ConnectKeyService;
  devices: DeviceService;
  deviceGroups: DeviceGroupService;
  events: EventService;
  enrollment: EnrollmentService;
  agentSessions: AgentSessionService;
  files: FileService;
  commands: CommandService;
  executions: ExecutionService;
  dispatcher: Dispatcher;
  scheduler: CommandScheduler;
}

export interface ServiceDeps {
  signer: DeviceCertificateSigner;
  presence: AgentPresence;
  channel: AgentChannel;
  identity: () => ServerIdentity;
  blobs: BlobStore;
  clock: Clock;
  logger: Logger;
}

export function createServices(stores: Stores, deps: ServiceDeps): Services {
  const connectKeys = new ConnectKeyService(stores, deps.identity);
  const deviceGroups = new DeviceGroupService(stores);
  const dispatcher = new Dispatcher(stores, deps.channel, deps.logger, () => deps.clock.now());
  const executions = new ExecutionService(stores, dispatcher);
  const commands = new CommandService(stores, executions);
  const scheduler = new CommandScheduler(stores, commands, deps.clock, deps.logger);
  commands.onScheduleChange(scheduler);
  return {
    apiKeys: new ApiKeyService(stores),
    connectKeys,
    devices: new DeviceService(stores, deps.presence),
    deviceGroups,
    events: new EventService(stores),
    enrollment: new EnrollmentService(stores, connectKeys, deviceGroups, deps.signer),
    agentSessions: new AgentSessionService(stores, deps.signer, deps.presence),
    files: new FileService(stores, deps.blobs),
    commands,
    executions,
    dispatcher,
    scheduler,
  };
}
