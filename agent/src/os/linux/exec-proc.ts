import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ScannedProcess } from "../../executor/posix-tree.js";

/**
 * One /proc/PID/stat line. The command name (field 2) is in parentheses and may itself hold spaces and
 * parentheses, so the fields are counted from the last ")". Field 22 is the start time in clock ticks
 * since boot: with the pid it names one process for good.
 */
export function parseProcStat(text: string): ScannedProcess | undefined {
  const close = text.lastIndexOf(")");
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const fields = text.slice(close + 2).split(" ");
  const [state, ppid, pgid, sid, start] = [fields[0], fields[1], fields[2], fields[3], fields[19]];
  if (state === undefined || start === undefined) return undefined;
  return { pid, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), start, zombie: state === "Z" || state === "X" };
}

/**
 * Every process in `procDir`. With a marker ("NAME=value"), also whether each one's environment holds
 * it: that finds a daemon the script double-forked, which no parent link or group leads to. Processes
 * that end during the scan are simply not listed.
 */
export async function scanProc(procDir: string, marker: string | undefined): Promise<ScannedProcess[]> {
  const pids = (await readdir(procDir)).filter((entry) => /^\d+$/.test(entry));
  const scanned = await Promise.all(
    pids.map(async (pid) => {
      try {
        const process = parseProcStat(await readFile(join(procDir, pid, "stat"), "utf8"));
        if (process && marker && !process.zombie) process.marked = await hasMarker(join(procDir, pid, "environ"), marker);
        return process;
      } catch {
        return undefined;
      }
    }),
  );
  return scanned.filter((p): p is ScannedProcess => p !== undefined);
}

async function hasMarker(environFile: string, marker: string): Promise<boolean> {
  try {
    return (await readFile(environFile, "utf8")).split("\0").includes(marker);
  } catch {
    return false;
  }
}
