import cliProgress from "cli-progress";
import type { Progress, ProgressView } from "./wait.js";

/**
 * How `--wait` shows progress, always on stderr so stdout carries only results: a bar on a terminal,
 * a line per change otherwise (logs and CI), nothing when the output is JSON for a script.
 */
export function progressView(stream: NodeJS.WriteStream, options: { json: boolean; label: string }): ProgressView {
  if (stream.isTTY) return barView(stream);
  return options.json ? SILENT : lineView((line) => stream.write(`${line}\n`), options.label);
}

export const SILENT: ProgressView = { update: () => {}, stop: () => {} };

/** "run_…: 3/10 done, 1 failed"; written only when a number changes. */
export function lineView(writeLine: (line: string) => void, label: string): ProgressView {
  let last = "";
  return {
    update({ done, total, failures }) {
      const line = `${label}: ${done}/${total} done, ${failures} failed`;
      if (line !== last) writeLine(line);
      last = line;
    },
    stop: () => {},
  };
}

function barView(stream: NodeJS.WriteStream): ProgressView {
  const bar = new cliProgress.SingleBar(
    { stream, format: "{bar} {value}/{total} done | {failures} failed | {duration_formatted}", barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update({ done, total, failures }: Progress) {
      if (!started) bar.start(total, done, { failures });
      else bar.update(done, { failures });
      started = true;
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
