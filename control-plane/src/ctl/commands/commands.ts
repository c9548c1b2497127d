import { Option, type Command as CliCommand } from "commander";
import { CliError } from "../../../../shared/src/cli/run-cli.js";
import { COMMAND_OS, type Command, type Launch } from "../../domain/command.js";
import type { Device } from "../../domain/device.js";
import type { Page } from "../../domain/list-query.js";
import type { ApiClient } from "../api-client.js";
import { usageError } from "../command.js";
import { addCommandOptions, commandFields, scriptOf, targetsOf, unique, uploadAttachments, type CommandFlags } from "../command-spec.js";
import { contextOf } from "../context.js";
import { bytes, relativeTime, timestamp, when } from "../format.js";
import { addWaitOptions, checkWaitFlags, reportLaunch, type LaunchResult, type WaitFlags } from "../launch.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";
import { renderFields, type Column } from "../table.js";
import { allPages } from "../wait.js";
import { groupId } from "./device-groups.js";

const COMMAND_COLUMNS: readonly Column<Command>[] = [
  { header: "id", value: (c) => c.id },
  { header: "name", value: (c) => c.name },
  { header: "os", value: (c) => c.os },
  { header: "shell", value: (c) => c.shell },
  { header: "launch", value: (c) => describeLaunch(c.launch) },
  { header: "targets", value: describeTargets },
  { header: "updated", value: (c) => relativeTime(c.updatedAt) },
];

const COMMAND = "<command>";
const COMMAND_HELP = "command name or id";

interface RunFlags extends WaitFlags {
  device?: string[];
  group?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerCommandCommands(program: CliCommand): void {
  const commands = program.command("commands").description("Saved scripts, run on demand, on a schedule or by a trigger");

  addListOptions(commands.command("list").description("List saved commands"))
    .addOption(new Option("--os <os>", "only commands for this OS").choices(COMMAND_OS))
    .action(async (flags: ListFlags & { os?: string }, command: CliCommand) => {
      const { api, print } = contextOf(command);
      const page = await api.get<Page<Command>>("/commands", listQuery(flags, { os: flags.os }));
      print(page, (p) => renderPage(p, COMMAND_COLUMNS, "commands", flags.skip));
    });

  commands
    .command("get")
    .description("Show a command and its script")
    .argument(COMMAND, COMMAND_HELP)
    .action(async (ref: string, _flags, command: CliCommand) => {
      const { api, print } = contextOf(command);
      print(await api.get<Command>(commandPath(ref)), renderCommand);
    });

  addCommandOptions(commands.command("create").description("Save a command").argument("<name>", "the command's name (unique)"), { forUpdate: false }).action(
    async (name: string, flags: CommandFlags, command: CliCommand) => {
      const fields = commandFields(flags, scriptOf(flags, true));
      const { api, print } = contextOf(command);
      const body = {
        name,
        ...fields,
        targets: await targetsOf(api, flags),
        ...(flags.attach ? { files: await uploadAttachments(api, flags.attach) } : {}),
      };
      print(await api.post<Command>("/commands", body), (c) => `Created command ${c.name} (${c.id}): ${describeLaunch(c.launch)}, ${describeTargets(c)}`);
    },
  );

  addCommandOptions(
    commands
      .command("update")
      .description("Change a command: only the options given change; --device, --group, --runner, --env and --attach replace what was there")
      .argument(COMMAND, COMMAND_HELP)
      .option("--name <name>", "the new name"),
    { forUpdate: true },
  ).action(async (ref: string, flags: CommandFlags & { name?: string }, command: CliCommand) => {
    const body: Record<string, unknown> = { ...commandFields(flags, scriptOf(flags, false)), ...(flags.name === undefined ? {} : { name: flags.name }) };
    const changesTargets = flags.device !== undefined || flags.group !== undefined;
    if (Object.keys(body).length === 0 && !changesTargets && flags.attach === undefined) {
      throw usageError('nothing to update: give at least one option (see "tetherctl commands update --help")');
    }
    const { api, print } = contextOf(command);
    const path = commandPath(ref);
    if (changesTargets) {
      // The server replaces targets whole: the half not given keeps its current value.
      const [current, given] = await Promise.all([api.get<Command>(path), targetsOf(api, flags)]);
      body.targets = {
        devices: flags.device === undefined ? current.targets.devices : given.devices,
        deviceGroups: flags.group === undefined ? current.targets.deviceGroups : given.deviceGroups,
      };
    }
    if (flags.attach) body.files = await uploadAttachments(api, flags.attach);
    print(await api.patch<Command>(path, body), (c) => `Updated command ${c.name} (${c.id})`);
  });

  commands
    .command("delete")
    .description("Delete a command (its results stay)")
    .argument(COMMAND, COMMAND_HELP)
    .action(async (ref: string, _flags, command: CliCommand) => {
      const { api, print } = contextOf(command);
      print(await api.delete<undefined>(commandPath(ref)), () => `Deleted command ${ref}`);
    });

  addWaitOptions(
    commands
      .command("run")
      .description("Run a command now on its targets, or only on some of them")
      .argument(COMMAND, COMMAND_HELP)
      .option("--device <id>", "only this target device (repeat for more)", collect)
      .option("--group <id-or-name>", "only this group's devices, each a target of the command (repeat for more)", collect),
  ).action(async (ref: string, flags: RunFlags, command: CliCommand) => {
    checkWaitFlags(flags);
    const ctx = contextOf(command);
    const deviceIds = await narrowTo(ctx.api, flags);
    const launch = await ctx.api.post<LaunchResult>(`${commandPath(ref)}/run`, deviceIds === undefined ? {} : { deviceIds });
    await reportLaunch(command, ctx, launch, flags);
  });
}

function commandPath(ref: string): string {
  return `/commands/${encodeURIComponent(ref)}`;
}

/** The devices to narrow a run to: --device ones and every member of each --group; undefined: all targets. */
async function narrowTo(api: ApiClient, flags: RunFlags): Promise<string[] | undefined> {
  if (flags.device === undefined && flags.group === undefined) return undefined;
  const ids = [...(flags.device ?? [])];
  for (const group of flags.group ?? []) {
    const path = `/device-groups/${encodeURIComponent(await groupId(api, group))}/members`;
    const members = await allPages((skip, limit) => api.get<Page<Device>>(path, new URLSearchParams({ limit: String(limit), skip: String(skip) })));
    if (members.length === 0) throw new CliError(`the device group ${group} has no devices`);
    ids.push(...members.map((d) => d.id));
  }
  return unique(ids);
}

export function describeLaunch(launch: Launch): string {
  switch (launch.type) {
    case "manual":
      return "manual";
    case "schedule":
      return `schedule "${launch.cron}" ${launch.timezone}`;
    case "once":
      return `once at ${timestamp(launch.at)}`;
    case "trigger":
      return `trigger ${launch.name}`;
  }
}

function describeTargets(command: Command): string {
  const { devices, deviceGroups } = command.targets;
  const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  return `${plural(devices.length, "device")}, ${plural(deviceGroups.length, "group")}`;
}

function renderCommand(command: Command): string {
  const c = command;
  const fields = renderFields([
    ["ID", c.id],
    ["Name", c.name],
    ["Description", c.description],
    ["OS", c.os],
    ["Shell", c.shell],
    ["Run as", c.runAs],
    ["Timeout", `${c.timeoutSeconds}s`],
    ["Queue TTL", `${c.queueTtlSeconds}s`],
    ["Launch", describeLaunch(c.launch)],
    ["Parallel", c.parallel ? "yes" : "no (one at a time per device)"],
    ["Devices", c.targets.devices],
    ["Groups", c.targets.deviceGroups],
    ["Runners", c.runners],
    ["Env", Object.entries(c.env).map(([name, value]) => `${name}=${value}`)],
    ["Files", c.files.map((f) => `${f.path}  ${f.name} (${f.fileId}, ${bytes(f.size)}, sha256 ${f.sha256})`)],
    ["Created", when(c.createdAt)],
    ["Updated", when(c.updatedAt)],
  ]);
  return `${fields}\n\n--- script ---\n${c.script.endsWith("\n") ? c.script.slice(0, -1) : c.script}`;
}
