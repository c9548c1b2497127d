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
}
