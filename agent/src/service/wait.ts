import { setTimeout as sleep } from "node:timers/promises";
import { ExitCode } from "../exit-codes.js";
import { IdentityStore } from "../identity/store.js";
import type { PlatformDriver, ServiceManager } from "../os/types.js";
import { isRunning, readStatus, type AgentStatus } from "../status.js";

export interface WaitOptions {
  platform: PlatformDriver;
  service: ServiceManager;
  stateDir: string;
  /** When the service was (re)started: older status.json content is a previous run's. */
  startedAt: number;
  timeoutMs: number;
  print: (line: string) => void;
  pollMs?: number;
}

/**
 * Waits until the started service's agent says it is connected (status.json in the state directory),
 * or, in image mode on the image's own machine, that it waits for a new machine. Otherwise it says why
 * not: the agent's last words, and its exit status when it ended for good.
 */
export async function waitForAgent(options: WaitOptions): Promise<ExitCode> {
  const { print, stateDir, startedAt } = options;
  const deadline = Date.now() + options.timeoutMs;
  let last: AgentStatus | undefined;
  for (;;) {
    const status = await readStatus(stateDir);
    if (status && Date.parse(status.since) >= startedAt) last = status;
    if (last?.state === "connected") {
      const identity = await new IdentityStore(stateDir, options.platform).load().catch(() => undefined);
      print(`Connected${identity ? `: this machine is device ${identity.deviceId} on ${identity.serverUrl}` : ""}.`);
      return ExitCode.Ok;
    }
    if (last?.state === "waiting") {
      print(`Not enrolling here: ${last.detail ?? "image mode"}.`);
      return ExitCode.Ok;
    }
    if (last?.state === "stopped" && !isRunning(last.pid)) {
      const service = await options.service.state().catch(() => undefined);
      const code = service?.lastExitStatus;
      print(`The agent stopped${code ? ` with status ${code}` : ""}: ${last.detail ?? service?.detail ?? "no reason given"}.`);
      return isExitCode(code) && code !== ExitCode.Ok ? code : ExitCode.Failure;
    }
    if (Date.now() >= deadline) {
      const said = last ? `${last.state}${last.detail ? ` — ${last.detail}` : ""}` : "nothing yet";
      print(
        `The agent has not connected within ${Math.round(options.timeoutMs / 1000)} s (its last word: ${said}). ` +
          `The service keeps trying; its output is in ${options.service.logs}.`,
      );
      return ExitCode.Failure;
    }
    await sleep(options.pollMs ?? 250);
  }
}

function isExitCode(code: number | undefined): code is ExitCode {
  return code !== undefined && (Object.values(ExitCode) as number[]).includes(code);
}
