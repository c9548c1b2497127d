import type { Inventory } from "../../../shared/src/protocol/inventory.js";
import type { Device, DeviceWithInventory } from "../domain/device.js";
import { bytes, relativeTime, when } from "./format.js";
import { renderFields, type Column } from "./table.js";

/** How devices read in tables and in `devices get`. */

export const DEVICE_COLUMNS: readonly Column<Device>[] = [
  { header: "id", value: (d) => d.id },
  { header: "name", value: (d) => d.displayName },
  { header: "hostname", value: (d) => d.hostname },
  { header: "os", value: osName },
  { header: "status", value: (d) => d.status },
  { header: "last contact", value: (d) => relativeTime(d.lastContact) },
  { header: "agent", value: (d) => d.agentVersion },
];

/** The device record followed by a summary of its latest inventory. */
export function renderDevice(device: DeviceWithInventory, now: number = Date.now()): string {
  const inventory = device.inventory;
  return renderFields([
    ["ID", device.id],
    ["Name", device.displayName],
    ["Hostname", device.hostname],
    ["Status", device.lastContact ? `${device.status}, last contact ${relativeTime(device.lastContact, now)}` : device.status],
    ["Remote IP", device.remoteIp],
    ["Groups", device.groups.map((g) => g.name).join(", ")],
    ["OS", inventory ? osLine(inventory) : `${osName(device)}${device.arch ? ` (${device.arch})` : ""}`],
    ["Agent", device.agentVersion],
    ["Enrolled", when(device.enrolledAt, now)],
    ["Certificate", `expires ${when(device.certificateExpiresAt, now)}`],
    ...(device.cloneSuspectedAt ? ([["Clone suspected", when(device.cloneSuspectedAt, now)]] as const) : []),
    ...(inventory ? inventoryFields(inventory) : []),
    ["Inventory", device.inventoryUpdatedAt ? `updated ${relativeTime(device.inventoryUpdatedAt, now)}` : "not reported yet"],
  ]);
}

// Version and architecture stay empty until the agent's first hello.
function osName(device: Device): string {
  return [device.os, device.osVersion].filter(Boolean).join(" ");
}

function osLine(inventory: Inventory): string {
  const { os } = inventory;
  const build = os.build ? ` build ${os.build}` : "";
  return `${os.distro} ${os.release}${build} (${os.platform} ${os.kernel}, ${os.arch})`;
}

function inventoryFields(inventory: Inventory): [string, string | string[] | undefined][] {
  const { system, cpu } = inventory;
  const speed = cpu.speedGHz ? `, ${cpu.speedGHz} GHz` : "";
  return [
    ["Model", `${system.manufacturer} ${system.model}`.trim()],
    ["Serial", system.serial],
    ["CPU", `${cpu.brand} (${cpu.cores} cores, ${cpu.physicalCores} physical${speed})`],
    ["Memory", bytes(inventory.memory.totalBytes)],
    ["Disks", inventory.disks.map((d) => [d.name, bytes(d.sizeBytes), d.type, d.vendor].filter(Boolean).join("  "))],
    // Loopback and other internal interfaces say nothing about where the machine is.
    ["Network", inventory.network.filter((n) => !n.internal).map((n) => [n.iface, ...n.ipv4, ...n.ipv6, n.mac].filter(Boolean).join("  "))],
  ];
}
