import { cpus, totalmem } from "node:os";

/** One line describing the machine a benchmark ran on, for docs/benchmarks.md. */
export function machineDescription(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Replaces the block between `<!-- name -->` and `<!-- /name -->` in a markdown file (appends it if absent). */
export function replaceSection(document: string, name: string, body: string): string {
  const start = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from >= 0 && to > from) return document.slice(0, from) + block + document.slice(to + end.length);
  return `${document.trimEnd()}\n\n${block}\n`;
}

export function metricValue(metricsText: string, name: string, labels = ""): number | undefined {
  const escaped = (name + labels).replace(/[{}"().[\]]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${escaped} ([0-9.eE+-]+)$`, "m").exec(metricsText);
  return match ? Number(match[1]) : undefined;
}

export function rssOf(pid: number, read: (path: string) => string): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** User and system CPU time of a process so far, from /proc (in clock ticks of 10 ms). */
export function processCpuMs(pid: number, read: (path: string) => string): number {
  const fields = read(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
