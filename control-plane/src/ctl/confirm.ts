import { createInterface } from "node:readline/promises";
import { usageError } from "./command.js";

/**
 * Asks a yes/no question on the terminal; only "y" or "yes" agrees. Without a terminal there is no one
 * to ask, and taking silence as consent would let a script delete by accident, so it refuses and
 * points to --yes, which says yes up front. The question is a function so that whatever it needs to
 * look up is not fetched before that refusal.
 */
export async function confirm(question: () => Promise<string>): Promise<boolean> {
  if (!process.stdin.isTTY) throw usageError(`not confirmed: stdin is not a terminal to ask on; pass --yes to go ahead`);
  const text = await question();
  // The question goes to stderr so that stdout carries only results.
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await terminal.question(`${text} [y/N] `)).trim());
  } finally {
    terminal.close();
  }
}
