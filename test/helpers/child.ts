import type { ChildProcess } from "node:child_process";
import { once } from "node:events";

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** The test runner's environment without its own TETHER_* settings, so each test sets what it means. */
export function runnerEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TETHER_")));
}

export interface WatchedChild {
  readonly process: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  logs(): string;
  exited: Promise<Exit>;
  /** SIGTERM unless it has ended; resolves with its exit. */
  stop(): Promise<Exit>;
  kill9(): Promise<void>;
}

/** Collects a spawned child's output (stdio piped) and its exit; it stays in `running` until it exits. */
export function watchChild(child: ChildProcess, running: Set<ChildProcess>): WatchedChild {
  running.add(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, "exit").then(([code, signal]) => {
    running.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  return {
    process: child,
    logs: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
