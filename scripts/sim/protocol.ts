/** Messages between the simulator's orchestrator and its worker processes (over the fork IPC channel). */

export interface SimIdentity {
  deviceId: string;
  certificatePem: string;
}

export type ToWorker =
  | {
      cmd: "connect";
      url: string;
      caPem: string;
      /** One key shared by all simulated devices of a run: keygen is not what is being measured. */
      keyPem: string;
      identities: SimIdentity[];
      /** Source addresses to spread connections over (each has its own ephemeral port range). */
      localAddresses: string[];
      concurrency: number;
      sendInventory: boolean;
      answerCommands?: boolean;
    }
  | { cmd: "close" };

export type FromWorker =
  | { event: "progress"; connected: number; failed: number }
  | { event: "connected"; connected: number; failed: number; firstError: string | null; rssBytes: number }
  | { event: "closed" };
