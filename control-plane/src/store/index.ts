import { ApiKeyStore } from "./api-keys.js";
import { CommandStore } from "./commands.js";
import { ConnectKeyStore } from "./connect-keys.js";
import type { Db } from "./db.js";
import { DeviceGroupStore } from "./device-groups.js";
import { DeviceStore } from "./devices.js";
import { EventStore } from "./events.js";
import { ExecutionStore } from "./executions.js";
import { FileStore } from "./files.js";
import { SettingsStore } from "./settings.js";

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
    transaction: (fn) => db.transaction(fn)(),
  };
}
