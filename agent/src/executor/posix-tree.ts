import type { ProcessTree } from "./types.js";

/** One process as a POSIX host's scan (of /proc, or of `ps`) sees it. */
export interface ScannedProcess {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id, where the scan can tell (Linux). */
  sid?: number;
  /** Anything that tells this process from a later one given the same pid (its start time). */
  start: string;
  zombie: boolean;
  /** Its environment holds the execution's marker (only when the scan was asked to look, and can). */
  marked?: boolean;
}

/** Lists the processes of the machine; `marker` asks it to fill in `marked` where it can. */
export type ProcessScan = (marker: string | undefined) => Promise<ScannedProcess[]>;
export type SendSignal = (pid: number, signal: "SIGTERM" | "SIGKILL") => void;

/**
 * The processes of one execution on a POSIX system: the first process, its process group and session
 * (it was started detached, so it leads both), every descendant by parent links, and every process
 * whose environment carries the marker. Members are remembered with their start time across calls:
 * once SIGTERM has killed a parent, its trapped grandchild is reparented to init and no parent link
 * leads to it any more, but it is still ours; a recycled pid is not.
 */
export class ScannedProcessTree implements ProcessTree {
  private readonly known = new Map<number, string>();

  constructor(
    private readonly root: number,
    private readonly marker: string,
    private readonly scan: ProcessScan,
    private readonly kill: SendSignal,
  ) {}

  async signal(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    let members: ScannedProcess[] = [];
    try {
      members = this.members(await this.scan(this.marker));
    } catch {
      // No scan (ps failed): the process group below still reaches everything that stayed in it.
    }
    this.send(-this.root, signal);
    for (const member of members) if (!member.zombie) this.send(member.pid, signal);
  }

  async alive(): Promise<boolean> {
    try {
      return this.members(await this.scan(undefined)).some((member) => !member.zombie);
    } catch {
      // Cannot tell: assume the worst, so that the caller goes on to SIGKILL.
      return true;
    }
  }

  private members(processes: ScannedProcess[]): ScannedProcess[] {
    const firstScan = this.known.size === 0;
    const members = new Map<number, ScannedProcess>();
    for (const p of processes) {
      if (p.pid <= 1 || p.pid === process.pid) continue;
      const belongs =
        this.known.get(p.pid) === p.start ||
        (firstScan && p.pid === this.root) ||
        p.pgid === this.root ||
        p.sid === this.root ||
        p.marked === true;
      if (belongs) members.set(p.pid, p);
    }
    // Descendants by parent links, to a fixed point (a child may be listed before its parent).
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of processes) {
        if (!members.has(p.pid) && members.has(p.ppid) && p.pid !== process.pid) {
          members.set(p.pid, p);
          grew = true;
        }
      }
    }
    for (const member of members.values()) this.known.set(member.pid, member.start);
    return [...members.values()];
  }

  private send(pid: number, signal: "SIGTERM" | "SIGKILL"): void {
    try {
      this.kill(pid, signal);
    } catch {
      // ESRCH: it is gone already, which is the point.
    }
  }
}
