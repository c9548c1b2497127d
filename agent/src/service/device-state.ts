import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ExecutionJournal } from "../commands/journal.js";
import { writeFileAtomic } from "../identity/files.js";
import type { IdentityStore } from "../identity/store.js";
import { statusPath } from "../status.js";

/**
 * Forgets the device this machine was: its identity, what the agent last reported (status.json) and
 * the executions journal, whose unacknowledged results belong to that device and must never be sent
 * under another one. Settings (agent.json) stay. Used by `reset-identity` and when a cloned identity
 * is replaced by a fresh enrollment.
 */
export async function forgetDevice(store: IdentityStore): Promise<void> {
  await store.wipe();
  await new ExecutionJournal(store.stateDir).clear();
  await rm(statusPath(store.stateDir), { force: true });
  await clearDeletedMarker(store.stateDir);
}

/**
 * deleted.json: an admin deleted this device. While it is there, the agent does not enroll again with
 * the connect key from agent.json, so an installation that was not (or could not be) removed does not
 * bring a deleted device back as a new one. `install` and `reset-identity` remove it.
 */
export interface DeletedMarker {
  deviceId: string;
  deletedAt: string;
}

function markerPath(stateDir: string): string {
  return join(stateDir, "deleted.json");
}

export async function markDeleted(stateDir: string, marker: DeletedMarker): Promise<void> {
  await writeFileAtomic(markerPath(stateDir), JSON.stringify(marker, null, 2) + "\n", 0o644);
}

export async function readDeletedMarker(stateDir: string): Promise<DeletedMarker | undefined> {
  try {
    return JSON.parse(await readFile(markerPath(stateDir), "utf8")) as DeletedMarker;
  } catch {
    return undefined;
  }
}

export async function clearDeletedMarker(stateDir: string): Promise<void> {
  await rm(markerPath(stateDir), { force: true });
}
