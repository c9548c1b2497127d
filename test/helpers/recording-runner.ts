import type { CommandResult, CommandRunner } from "../../agent/src/os/types.js";

/**
 * A CommandRunner for service-manager drivers (systemctl, launchctl, WinSW) that records every command
 * line and answers from `answer`, which sees the tool's base name and its arguments. Unanswered commands
 * succeed with no output.
 */
export function recordingRunner(answer: (tool: string, args: readonly string[]) => Partial<CommandResult> | undefined = () => undefined) {
  const calls: string[] = [];
  const run: CommandRunner = async (file, args) => {
    const tool = file.split(/[\\/]/).pop()!;
    calls.push([tool, ...args].join(" "));
    return { stdout: "", stderr: "", exitCode: 0, ...answer(tool, args) };
  };
  return { run, calls };
}
