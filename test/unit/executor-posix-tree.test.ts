import { describe, expect, it } from "vitest";
import { type ScannedProcess, ScannedProcessTree } from "../../agent/src/executor/posix-tree.js";

const MARKER = "TETHER_EXECUTION_ID=e1";
const proc = (pid: number, ppid: number, pgid: number, extra: Partial<ScannedProcess> = {}): ScannedProcess => ({
  pid,
  ppid,
  pgid,
  sid: pgid,
  start: `t${pid}`,
  zombie: false,
  ...extra,
});

/** A tree over a scripted sequence of scans, recording the signals sent. */
function treeOver(scans: ScannedProcess[][]) {
  const sent: [number, string][] = [];
  const markers: (string | undefined)[] = [];
  let i = 0;
  const tree = new ScannedProcessTree(
    100,
    MARKER,
    async (marker) => {
      markers.push(marker);
      return scans[Math.min(i++, scans.length - 1)]!;
    },
    (pid, signal) => {
      sent.push([pid, signal]);
    },
  );
  return { tree, sent, markers };
}

describe("ScannedProcessTree", () => {
  it("signals the group, the root, descendants by parent link and marked processes, nothing else", async () => {
    const { tree, sent, markers } = treeOver([
      [
        proc(1, 0, 1),
        proc(50, 1, 50), // the agent's neighbour: not ours
        proc(100, 50, 100), // the script
        proc(101, 100, 100), // child in the group
        proc(102, 101, 102, { sid: 102 }), // grandchild that called setsid
        proc(103, 102, 102, { sid: 102 }), // its child
        proc(200, 1, 200, { sid: 200, marked: true }), // a double-forked daemon, found by its environment
        proc(300, 1, 300, { sid: 300 }),
      ],
    ]);
    await tree.signal("SIGTERM");
    expect(markers).toEqual([MARKER]);
    expect(sent.map(([pid]) => pid).sort((a, b) => a - b)).toEqual([-100, 100, 101, 102, 103, 200]);
    expect(new Set(sent.map(([, signal]) => signal))).toEqual(new Set(["SIGTERM"]));
  });

  it("remembers an orphaned grandchild after its parent died, but not a pid that was recycled", async () => {
    const first = [proc(100, 50, 100), proc(101, 100, 101, { sid: 101 }), proc(102, 100, 102, { sid: 102 })];
    // After SIGTERM: the script is gone, 101 was adopted by init, 102 died and its pid went to a stranger.
    const later = [proc(101, 1, 101, { sid: 101 }), proc(102, 1, 102, { sid: 102, start: "someone else" })];
    const { tree, sent } = treeOver([first, later, later]);
    await tree.signal("SIGTERM");
    expect(await tree.alive()).toBe(true);
    sent.length = 0;
    await tree.signal("SIGKILL");
    expect(sent).toEqual([[-100, "SIGKILL"], [101, "SIGKILL"]]);
  });

  it("counts zombies as dead and does not signal them", async () => {
    const { tree, sent } = treeOver([[proc(100, 50, 100, { zombie: true }), proc(101, 100, 100, { zombie: true })]]);
    expect(await tree.alive()).toBe(false);
    await tree.signal("SIGKILL");
    expect(sent).toEqual([[-100, "SIGKILL"]]);
  });

  it("still signals the process group when the scan fails, and then says the tree may be alive", async () => {
    const sent: number[] = [];
    const tree = new ScannedProcessTree(100, MARKER, async () => Promise.reject(new Error("ps failed")), (pid) => sent.push(pid));
    await tree.signal("SIGTERM");
    expect(sent).toEqual([-100]);
    expect(await tree.alive()).toBe(true);
  });

  it("ignores a signal to a process that is already gone", async () => {
    const tree = new ScannedProcessTree(100, MARKER, async () => [proc(100, 50, 100)], () => {
      throw Object.assign(new Error("kill ESRCH"), { code: "ESRCH" });
    });
    await expect(tree.signal("SIGKILL")).resolves.toBeUndefined();
  });
});
