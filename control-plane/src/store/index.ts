import { ApiKeyStore } from "./api-keys.js";
import { ConnectKeyStore } from "./connect-keys.js";
import type { Db } from "./db.js";
import { DeviceGroupStore } from "./device-groups.js";
import { DeviceStore } from "./devices.js";
import { EventStore } from "./events.js";
import { SettingsStore } from "./settings.js";

/** Every aggregate's store over one database, plus the transaction that spans them. */
export interface Stores {
  settings: SettingsStore;
  apiKeys: ApiKeyStore;
  connectKeys: ConnectKeyStore;
  devices: DeviceStore;
  deviceGroups: DeviceGroupStore;
  events: EventStore;
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
    transaction: (fn) => db.transaction(fn)(),
  };
}
