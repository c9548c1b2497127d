import type { ScannedProcess } from "../../executor/posix-tree.js";

/** Arguments for `ps` that list every process in the shape parsePsProcesses reads. */
export const PS_ARGS = ["-axww", "-o", "pid=,ppid=,pgid=,stat=,lstart="] as const;

// pid, ppid, pgid, state flags, then the start time ("Mon Jan  8 09:12:01 2024"), which holds spaces.
const LINE = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S.*?)\s*$/;

/** The processes of `ps -axww -o pid=,ppid=,pgid=,stat=,lstart=`; the full start time tells recycled pids apart. */
export function parsePsProcesses(output: string): ScannedProcess[] {
  const processes: ScannedProcess[] = [];
  for (const line of output.split(/\r?\n/)) {
    const match = LINE.exec(line);
    if (!match) continue;
    const [, pid, ppid, pgid, stat, start] = match as unknown as [string, string, string, string, string, string];
    processes.push({ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), start, zombie: stat.startsWith("Z") });
  }
  return processes;
}
