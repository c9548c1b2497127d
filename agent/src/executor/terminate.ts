import { setTimeout as sleep } from "node:timers/promises";
import type { ProcessTree } from "./types.js";

/** Between SIGTERM and SIGKILL, unless a host is told otherwise. */
export const DEFAULT_KILL_GRACE_MS = 5_000;

const POLL_MS = 50;
// SIGKILL cannot be caught, but a member may fork between a scan and the kill: look again a few times.
const KILL_ROUNDS = 5;

/**
 * Ends a whole process tree: SIGTERM to every member, then SIGKILL to whatever is still alive once the
 * grace period has passed. The tree, not the first process, is watched: a script that dies at once can
 * leave behind a grandchild that traps SIGTERM.
 */
export async function terminateTree(tree: ProcessTree, graceMs: number): Promise<void> {
  await tree.signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await tree.alive())) return;
    await sleep(POLL_MS);
  }
  for (let round = 0; round < KILL_ROUNDS; round++) {
    await tree.signal("SIGKILL");
    await sleep(POLL_MS);
    if (!(await tree.alive())) return;
  }
}
