import type { Command } from "commander";
import { ApiClient } from "./api-client.js";
import { resolveConnection, type ConnectionFlags } from "./connection.js";

/** The program-wide flags, which commander accepts before or after the subcommand. */
export interface GlobalFlags extends ConnectionFlags {
  json?: boolean;
}

/** What an action needs from the invocation: the API, and how to print its answer. */
export interface CtlContext {
  api: ApiClient;
  /** Prints the response as it came with --json, else as `human` renders it. */
  print<T>(response: T, human: (response: T) => string): void;
}

export function contextOf(command: Command, options: { requireKey: boolean } = { requireKey: true }): CtlContext {
  const flags = globalFlags(command);
  return { api: new ApiClient(resolveConnection(flags, process.env, options)), print: printer(flags) };
}

export function globalFlags(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}

export function printer(flags: GlobalFlags): CtlContext["print"] {
  return (response, human) => {
    // Endpoints that answer 204 have no body: with --json there is then nothing to print.
    if (flags.json) {
      if (response !== undefined) process.stdout.write(JSON.stringify(response, null, 2) + "\n");
      return;
    }
    process.stdout.write(human(response) + "\n");
  };
}
