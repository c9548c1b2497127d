import type { Command} from "commander";
import { CommanderError } from "commander";

/**
 * Runs a commander program the same way in every Tether CLI: bad arguments and failures end with one
 * line on stderr saying what went wrong and a non-zero status, never a stack trace.
 */
export async function runCli(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  const configure = (command: Command): void => {
    command.exitOverride();
    command.configureOutput({ outputError: (text, write) => write(text.trimEnd().split("\n")[0] + "\n") });
    command.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version also arrive here, with exit code 0; every parse error is a usage error.
      process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${program.name()}: ${message.split("\n")[0]}\n`);
    process.exitCode = (error as { exitCode?: number }).exitCode ?? 1;
  }
}

/** Exit status for bad arguments, in every Tether CLI. */
export const USAGE_EXIT_CODE = 2;

/** An error whose message is meant for the person at the terminal, with the exit status to use. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}
