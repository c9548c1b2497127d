import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ConnectionState } from "./connection/client.js";
import { writeFileAtomic } from "./identity/files.js";

/** What a running agent last said about itself, for `tether-agent status` and installers. */
export interface AgentStatus {
  /** `waiting`: image mode on the image's own machine; the agent enrolls only on machines made from it. */
  state: ConnectionState | "enrolling" | "waiting";
  since: string;
  detail: string | null;
  pid: number;
  agentVersion: string;
}

export function statusPath(stateDir: string): string {
  return join(stateDir, "status.json");
}

export async function writeStatus(stateDir: string, status: AgentStatus): Promise<void> {
  await writeFileAtomic(statusPath(stateDir), JSON.stringify(status, null, 2) + "\n", 0o644);
}

export async function readStatus(stateDir: string): Promise<AgentStatus | undefined> {
  try {
    return JSON.parse(await readFile(statusPath(stateDir), "utf8")) as AgentStatus;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote the status still runs. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
