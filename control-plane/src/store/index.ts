import { ActivationTokenStore } from "./activation-tokens.js";
import { ApiKeyStore } from "./api-keys.js";
import { BindingStore } from "./bindings.js";
import { CommandStore } from "./commands.js";
import { ConnectKeyStore } from "./connect-keys.js";
import type { Db } from "./db.js";
import { DeviceGroupStore } from "./device-groups.js";
import { DeviceStore } from "./devices.js";
import { DirectoryGraphStore } from "./directory-graph.js";
import { EventStore } from "./events.js";
import { ExecutionStore } from "./executions.js";
import { FileStore } from "./files.js";
import { MfaStore } from "./mfa.js";
import { PortalLoginFailureStore } from "./portal-login-failures.js";
import { PortalSessionStore } from "./portal-sessions.js";
import { SettingsStore } from "./settings.js";
import { UserGroupStore } from "./user-groups.js";
import { UserStore } from "./users.js";

/** Every aggregate's store over one database, plus the transaction that spans them. */
export interface Stores {
  settings: SettingsStore;
  apiKeys: ApiKeyStore;
  connectKeys: ConnectKeyStore;
  devices: DeviceStore;
  deviceGroups: DeviceGroupStore;
  events: EventStore;
  commands: CommandStore;
  executions: ExecutionStore;
  files: FileStore;
  users: UserStore;
  activationTokens: ActivationTokenStore;
  userGroups: UserGroupStore;
  bindings: BindingStore;
  directoryGraph: DirectoryGraphStore;
  mfa: MfaStore;
  portalSessions: PortalSessionStore;
  portalLoginFailures: PortalLoginFailureStore;
  /** Runs `fn` in one SQLite transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
}

export function createStores(db: Db): Stores {
  return {
    settings: new SettingsStore(db),
    apiKeys: new ApiKeyStore(db),
    connectKeys: new ConnectKeyStore(db),
    devices: new DeviceStore(db),
    deviceGroups: new DeviceGroupStore(db),
    events: new EventStore(db),
    commands: new CommandStore(db),
    executions: new ExecutionStore(db),
    files: new FileStore(db),
    users: new UserStore(db),
    activationTokens: new ActivationTokenStore(db),
    userGroups: new UserGroupStore(db),
    bindings: new BindingStore(db),
    directoryGraph: new DirectoryGraphStore(db),
    mfa: new MfaStore(db),
    portalSessions: new PortalSessionStore(db),
    portalLoginFailures: new PortalLoginFailureStore(db),
    transaction: (fn) => db.transaction(fn)(),
  };
}
