import type { Command } from "commander";
import { CliError } from "../../../../shared/src/cli/run-cli.js";
import { COMMAND_OS, type CommandOs } from "../../domain/command.js";
import type { Device } from "../../domain/device.js";
import type { Page } from "../../domain/list-query.js";
import type { ApiClient } from "../api-client.js";
import { usageError } from "../command.js";
import { addScriptOptions, scriptFields, scriptOf, targetsOf, type ScriptFlags } from "../command-spec.js";
import { contextOf } from "../context.js";
import { addWaitOptions, checkWaitFlags, reportLaunch, type LaunchResult, type WaitFlags } from "../launch.js";

type RunFlags = ScriptFlags & WaitFlags;

/** `tetherctl run`: an ad-hoc script, not saved as a command. */
export function registerRunCommand(program: Command): void {
  addWaitOptions(
    addScriptOptions(
      program
        .command("run")
        .description("Run a script on devices without saving it as a command")
        .usage("--device ID... [--group ID_OR_NAME]... [options] -- 'script'")
        .argument("[script...]", "the script, after -- (or give --script or --file)"),
      { osRequired: false },
    ),
  ).action(async (words: string[], flags: RunFlags, command: Command) => {
    checkWaitFlags(flags);
    if (words.length > 0 && flags.script !== undefined) throw usageError("give the script after -- or with --script, not both");
    const script = scriptOf({ ...flags, ...(words.length > 0 ? { script: words.join(" ") } : {}) }, true);
    if (flags.device === undefined && flags.group === undefined) throw usageError("give at least one --device or --group to run on");
    const ctx = contextOf(command);
    const targets = await targetsOf(ctx.api, flags);
    const os = flags.os ?? (await osOfFirstDevice(ctx.api, targets));
    const launch = await ctx.api.post<LaunchResult>("/command-runs", { ...scriptFields(flags, script), os, targets });
    await reportLaunch(command, ctx, launch, flags);
  });
}

/** Without --os: the OS of the first --device, or else of the first --group's first member. */
async function osOfFirstDevice(api: ApiClient, targets: { devices: string[]; deviceGroups: string[] }): Promise<CommandOs> {
  let device: Device | undefined;
  if (targets.devices[0] !== undefined) {
    device = await api.get<Device>(`/devices/${encodeURIComponent(targets.devices[0])}`);
  } else {
    const group = targets.deviceGroups[0]!;
    const page = await api.get<Page<Device>>(`/device-groups/${encodeURIComponent(group)}/members`, new URLSearchParams({ limit: "1" }));
    device = page.results[0];
    if (device === undefined) throw new CliError(`the device group ${group} has no devices`);
  }
  const os = device.os as CommandOs;
  if (!COMMAND_OS.includes(os)) throw new CliError(`device ${device.id} reports the OS "${device.os}"; say which the script is for with --os`);
  return os;
}
