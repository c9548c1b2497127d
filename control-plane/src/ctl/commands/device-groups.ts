import type { Command } from "commander";
import type { DeviceGroup } from "../../domain/device-group.js";
import type { Device } from "../../domain/device.js";
import type { Page } from "../../domain/list-query.js";
import type { ApiClient } from "../api-client.js";
import { usageError } from "../command.js";
import { contextOf } from "../context.js";
import { DEVICE_COLUMNS } from "../device-view.js";
import { when } from "../format.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";
import { renderFields, type Column } from "../table.js";

interface MembershipChange {
  group: DeviceGroup;
  changed: number;
}

const GROUP_COLUMNS: readonly Column<DeviceGroup>[] = [
  { header: "id", value: (g) => g.id },
  { header: "name", value: (g) => g.name },
  { header: "members", value: (g) => g.memberCount, align: "right" },
  { header: "description", value: (g) => g.description },
];

// Both changes are idempotent on the server: `changed` counts only the devices that moved.
const MEMBERSHIP_CHANGES = [
  { verb: "add", path: "members", done: "Added", description: "Add devices to a device group (devices already in it stay as they are)" },
  { verb: "remove", path: "members/remove", done: "Removed", description: "Remove devices from a device group (devices not in it are ignored)" },
] as const;

const GROUP = "<group>";
const GROUP_HELP = "device group id or name";

export function registerDeviceGroupCommands(program: Command): void {
  const groups = program.command("device-groups").description("Groups of devices");

  addListOptions(groups.command("list").description("List device groups")).action(async (flags: ListFlags, command: Command) => {
    const { api, print } = contextOf(command);
    print(await api.get<Page<DeviceGroup>>("/device-groups", listQuery(flags)), (page) => renderPage(page, GROUP_COLUMNS, "device groups", flags.skip));
  });

  groups
    .command("get")
    .description("Show a device group")
    .argument(GROUP, GROUP_HELP)
    .action(async (group: string, _flags, command: Command) => {
      const { api, print } = contextOf(command);
      print(await api.get<DeviceGroup>(await groupPath(api, group)), renderGroup);
    });

  groups
    .command("create")
    .description("Create a device group")
    .argument("<name>", "the group's name (unique, case-insensitive)")
    .option("--description <text>", "what the group is for")
    .action(async (name: string, flags: { description?: string }, command: Command) => {
      const { api, print } = contextOf(command);
      const group = await api.post<DeviceGroup>("/device-groups", { name, ...flags });
      print(group, (g) => `Created device group ${g.name} (${g.id})`);
    });

  groups
    .command("update")
    .description("Rename a device group or change its description")
    .argument(GROUP, GROUP_HELP)
    .option("--name <name>", "the new name")
    .option("--description <text>", "the new description")
    .action(async (group: string, flags: { name?: string; description?: string }, command: Command) => {
      if (flags.name === undefined && flags.description === undefined) throw usageError("nothing to update: give --name or --description");
      const { api, print } = contextOf(command);
      const updated = await api.patch<DeviceGroup>(await groupPath(api, group), flags);
      print(updated, (g) => `Updated device group ${g.name} (${g.id})`);
    });

  groups
    .command("delete")
    .description("Delete a device group (its devices stay)")
    .argument(GROUP, GROUP_HELP)
    .action(async (group: string, _flags, command: Command) => {
      const { api, print } = contextOf(command);
      print(await api.delete<undefined>(await groupPath(api, group)), () => `Deleted device group ${group}`);
    });

  addListOptions(groups.command("members").description("List a device group's devices").argument(GROUP, GROUP_HELP)).action(
    async (group: string, flags: ListFlags, command: Command) => {
      const { api, print } = contextOf(command);
      const page = await api.get<Page<Device>>(`${await groupPath(api, group)}/members`, listQuery(flags));
      print(page, (p) => renderPage(p, DEVICE_COLUMNS, "devices in this group", flags.skip));
    },
  );

  for (const change of MEMBERSHIP_CHANGES) {
    groups
      .command(change.verb)
      .description(change.description)
      .argument(GROUP, GROUP_HELP)
      .argument("<device-ids...>", "device ids")
      .action(async (group: string, deviceIds: string[], _flags, command: Command) => {
        const { api, print } = contextOf(command);
        const result = await api.post<MembershipChange>(`${await groupPath(api, group)}/${change.path}`, { deviceIds });
        print(result, ({ group: g, changed }) => `${change.done} ${changed} of ${deviceIds.length} devices; ${g.name} now has ${g.memberCount} members`);
      });
  }
}

/**
 * The URL path of a group given by name or id. A name is looked up first, so admins can type
 * `servers` instead of `dg_01…`; anything that is no group's name is taken as an id, and the server
 * says so if it is not one either.
 */
async function groupPath(api: ApiClient, group: string): Promise<string> {
  return `/device-groups/${encodeURIComponent(await groupId(api, group))}`;
}

/** The id of a group given by name or id, by the same rule as groupPath. */
export async function groupId(api: ApiClient, group: string): Promise<string> {
  const byName = await api.get<Page<DeviceGroup>>("/device-groups", new URLSearchParams({ filter: `name:eq:${group}`, limit: "1" }));
  return byName.results[0]?.id ?? group;
}

function renderGroup(group: DeviceGroup): string {
  return renderFields([
    ["ID", group.id],
    ["Name", group.name],
    ["Description", group.description],
    ["Members", group.memberCount],
    ["Created", when(group.createdAt)],
    ["Updated", when(group.updatedAt)],
  ]);
}
