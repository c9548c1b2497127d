import { Command, InvalidArgumentError, type ErrorOptions, type HelpContext } from "commander";
import { CliError } from "../../../shared/src/cli/run-cli.js";
import { parseDuration } from "../../../shared/src/duration.js";

/**
 * Exit status for "you called me wrong", kept apart from 1 ("the server said no" or "could not reach
 * it") so scripts can tell a typo from a failure, as getopt-style tools do.
 */
export const USAGE_EXIT = 2;

export function usageError(message: string): CliError {
  return new CliError(message, USAGE_EXIT);
}

/** A commander Command whose usage errors, its own and its subcommands', exit with USAGE_EXIT. */
export class CtlCommand extends Command {
  override createCommand(name?: string): CtlCommand {
    return new CtlCommand(name);
  }

  // Commander reports every bad invocation through error() with status 1 (argument parsers even pass
  // their own 1 along), so the status is forced here rather than left to the caller.
  override error(message: string, errorOptions?: ErrorOptions): never {
    return super.error(message, { ...errorOptions, exitCode: USAGE_EXIT });
  }

  // Commander answers a missing subcommand (`tetherctl devices`) with the whole help text on stderr;
  // one line naming the choices keeps to the rule that bad usage is reported in one line.
  override help(context?: HelpContext | ((text: string) => string)): never {
    if (typeof context === "object" && context.error) {
      const path = commandPath(this);
      const names = this.commands.map((c) => c.name()).join(", ");
      return this.error(`error: ${path} needs a command, one of: ${names} (see "${path} --help")`);
    }
    // Commander's JS takes either form; the cast only picks one of its typed overloads.
    return super.help(context as HelpContext);
  }
}

function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}

/** Option parser for counts: a whole number of at least `min`. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`must be a whole number of at least ${min}.`);
    return Number(value);
  };
}

/** Option parser for durations such as 12h or 7d; returns seconds. */
export function durationSeconds(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
