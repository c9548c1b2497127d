import type { Stores } from "../store/index.js";
import { AgentSessionService } from "./agent-sessions.js";
import { ApiKeyService } from "./api-keys.js";
import { ConnectKeyService } from "./connect-keys.js";
import { DeviceGroupService } from "./device-groups.js";
import { DeviceService } from "./devices.js";
import { EnrollmentService } from "./enrollment.js";
import { EventService } from "./events.js";
import type { AgentPresence, DeviceCertificateSigner, ServerIdentity } from "./ports.js";

export interface Services {
  apiKeys: ApiKeyService;
  connectKeys: ConnectKeyService;
  devices: DeviceService;
  deviceGroups: DeviceGroupService;
  events: EventService;
  enrollment: EnrollmentService;
  agentSessions: AgentSessionService;
}

export interface ServiceDeps {
  signer: DeviceCertificateSigner;
  presence: AgentPresence;
  identity: () => ServerIdentity;
}

export function createServices(stores: Stores, deps: ServiceDeps): Services {
  const connectKeys = new ConnectKeyService(stores, deps.identity);
  const deviceGroups = new DeviceGroupService(stores);
  return {
    apiKeys: new ApiKeyService(stores),
    connectKeys,
    devices: new DeviceService(stores, deps.presence),
    deviceGroups,
    events: new EventService(stores),
    enrollment: new EnrollmentService(stores, connectKeys, deviceGroups, deps.signer),
    agentSessions: new AgentSessionService(stores, deps.signer, deps.presence),
  };
}
