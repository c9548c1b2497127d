import { execa } from "execa";
import type { CommandRunner } from "./types.js";

/**
 * The real CommandRunner. A non-zero exit is a normal result for the caller to read (`reg query` exits 1
 * for a missing value). A process that did not run to its own end (not found, killed, timed out, output
 * over the buffer limit) is an error instead, so that no caller has to recognise a made-up exit code or
 * trust a truncated output.
 */
export const runCommand: CommandRunner = async (file, args, opts = {}) => {
  const result = await execa(file, args, {
    reject: false,
    shell: false,
    timeout: opts.timeoutMs,
    // Nothing we run reads input, and powershell.exe waits for stdin to close when it is a pipe.
    stdin: "ignore",
    windowsHide: true,
  });
  if (result.exitCode === undefined || result.timedOut || result.isMaxBuffer) {
    throw new Error(result.shortMessage ?? `${file} did not run to completion`);
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
};
