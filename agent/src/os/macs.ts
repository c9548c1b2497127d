import type { NetworkInterfaceInfo } from "node:os";

/** Lower-cased MAC, or undefined for an interface that has none (loopback, tunnels report all zeros). */
export function normalizeMac(mac: string | undefined): string | undefined {
  const lower = mac?.trim().toLowerCase();
  return lower && lower !== "00:00:00:00:00:00" ? lower : undefined;
}

/**
 * The MACs that identify this machine's hardware: sorted and unique, so the same machine always gives the
 * same list. `isVirtual` lets a driver drop software interfaces (bridges, veth pairs, tunnels), which come
 * and go and say nothing about the hardware.
 */
export async function hardwareMacs(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  isVirtual: (iface: string) => Promise<boolean>,
): Promise<string[]> {
  const macs = new Set<string>();
  for (const [iface, addresses = []] of Object.entries(interfaces)) {
    if (addresses.some((a) => a.internal) || (await isVirtual(iface))) continue;
    for (const address of addresses) {
      const mac = normalizeMac(address.mac);
      if (mac) macs.add(mac);
    }
  }
  return [...macs].sort();
}
