import { Option, type Command } from "commander";
import { CliError } from "../../../../shared/src/cli/run-cli.js";
import { DEVICE_STATUSES, type Device, type DeviceWithInventory } from "../../domain/device.js";
import type { Page } from "../../domain/list-query.js";
import { confirm } from "../confirm.js";
import { contextOf } from "../context.js";
import { DEVICE_COLUMNS, renderDevice } from "../device-view.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";

interface DeviceListFlags extends ListFlags {
  status?: string;
  os?: string;
  hostname?: string;
}

export function registerDeviceCommands(program: Command): void {
  const devices = program.command("devices").description("Enrolled devices");

  addListOptions(devices.command("list").description("List devices"))
    .addOption(new Option("--status <status>", "only devices that are online or offline").choices(DEVICE_STATUSES))
    .option("--os <os>", "only this OS, e.g. linux, darwin or windows")
    .option("--hostname <name>", "only this exact hostname (use --filter hostname:search:TEXT to match part of one)")
    .action(async (flags: DeviceListFlags, command: Command) => {
      const { api, print } = contextOf(command);
      const query = listQuery(flags, { status: flags.status, os: flags.os, hostname: flags.hostname });
      print(await api.get<Page<Device>>("/devices", query), (page) => renderPage(page, DEVICE_COLUMNS, "devices", flags.skip));
    });

  devices
    .command("get")
    .description("Show a device with a summary of its inventory")
    .argument("<id>", "device id")
    .action(async (id: string, _flags, command: Command) => {
      const { api, print } = contextOf(command);
      print(await api.get<DeviceWithInventory>(`/devices/${encodeURIComponent(id)}`), (device) => renderDevice(device));
    });

  devices
    .command("rename")
    .description("Change a device's display name (its hostname stays as the OS reports it)")
    .argument("<id>", "device id")
    .argument("<name>", "the new display name")
    .action(async (id: string, name: string, _flags, command: Command) => {
      const { api, print } = contextOf(command);
      const device = await api.patch<DeviceWithInventory>(`/devices/${encodeURIComponent(id)}`, { displayName: name });
      print(device, (d) => `Renamed ${d.id} to ${d.displayName}`);
    });

  devices
    .command("delete")
    .description("Delete a device: its certificate is revoked and its agent stops and wipes its identity")
    .argument("<id>", "device id")
    .option("--yes", "do not ask for confirmation (needed when stdin is not a terminal)")
    .action(async (id: string, flags: { yes?: boolean }, command: Command) => {
      const { api, print } = contextOf(command);
      const path = `/devices/${encodeURIComponent(id)}`;
      if (!flags.yes) {
        const agreed = await confirm(async () => {
          const device = await api.get<DeviceWithInventory>(path);
          return `Delete ${device.displayName} (${device.id})? Its agent will wipe its identity and need enrolling again.`;
        });
        if (!agreed) throw new CliError("not deleted");
      }
      print(await api.delete<undefined>(path), () => `Deleted device ${id}`);
    });
}
