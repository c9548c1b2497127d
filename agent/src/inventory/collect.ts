import { type NetworkInterfaceInfo, networkInterfaces, uptime } from "node:os";
import si, { type Systeminformation } from "systeminformation";
import { type Inventory, InventorySchema } from "../../../shared/src/protocol/inventory.js";
import { normalizeMac } from "../os/macs.js";
import type { ListNetworkInterfaces } from "../os/types.js";

/** Where the facts come from: systeminformation on a real machine, canned data in tests. */
export interface InventorySource {
  osInfo(): Promise<Pick<Systeminformation.OsData, "hostname" | "platform" | "distro" | "release" | "build" | "kernel" | "arch">>;
  system(): Promise<Pick<Systeminformation.SystemData, "manufacturer" | "model" | "serial">>;
  cpu(): Promise<Pick<Systeminformation.CpuData, "manufacturer" | "brand" | "cores" | "physicalCores" | "speed">>;
  mem(): Promise<Pick<Systeminformation.MemData, "total">>;
  diskLayout(): Promise<Pick<Systeminformation.DiskLayoutData, "name" | "device" | "type" | "size" | "vendor">[]>;
  fsSize(): Promise<Pick<Systeminformation.FsSizeData, "mount" | "type" | "size" | "used">[]>;
  networkInterfaces(): Promise<ReturnType<ListNetworkInterfaces>>;
  time(): Promise<{ current: number; uptime: number }>;
  users(): Promise<Pick<Systeminformation.UserData, "user" | "tty" | "date" | "time">[]>;
}

export const systemInformationSource: InventorySource = {
  osInfo: () => si.osInfo(),
  system: () => si.system(),
  cpu: () => si.cpu(),
  mem: () => si.mem(),
  diskLayout: () => si.diskLayout(),
  fsSize: () => si.fsSize(),
  // si.networkInterfaces() keeps one address per family and, per interface, runs synchronous shell
  // commands on Linux and PowerShell on Windows for facts we do not report; Node's own list has every
  // address and costs nothing.
  networkInterfaces: async () => networkInterfaces(),
  // si.time() reads the same two numbers, after a synchronous `date` for the time zone we do not report.
  time: async () => ({ current: Date.now(), uptime: uptime() }),
  users: () => si.users(),
};

export interface CollectOptions {
  /** A call that has not answered by then counts as failed (df hangs on a dead NFS mount). */
  callTimeoutMs?: number;
  /** Told about each part left empty, so the caller can log why. */
  onPartFailed?: (part: keyof InventorySource, error: unknown) => void;
}

const GiB = 1024 ** 3;
const MINUTE = 60_000;
// The schema's list limits. A Kubernetes node can have hundreds of overlay mounts; past the limit we keep
// the first entries in sort order rather than fail the whole inventory.
const MAX_ITEMS = 256;
const MAX_USERS = 1024;
const MAX_ADDRESSES = 64;

/**
 * Collects the inventory, all calls at once. A call that fails (several do in containers) leaves its
 * part empty instead of failing the whole document. The result is normalised (trimmed, sorted, rounded)
 * so that an unchanged machine gives an identical document, and validated before it is returned.
 */
export async function collectInventory(
  source: InventorySource = systemInformationSource,
  opts: CollectOptions = {},
): Promise<Inventory> {
  const call = <T>(part: keyof InventorySource, fn: () => Promise<T>) => guarded(part, fn, opts);
  const [osInfo, system, cpu, mem, disks, filesystems, interfaces, time, users] = await Promise.all([
    call("osInfo", () => source.osInfo()),
    call("system", () => source.system()),
    call("cpu", () => source.cpu()),
    call("mem", () => source.mem()),
    call("diskLayout", () => source.diskLayout()),
    call("fsSize", () => source.fsSize()),
    call("networkInterfaces", () => source.networkInterfaces()),
    call("time", () => source.time()),
    call("users", () => source.users()),
  ]);

  return InventorySchema.parse({
    hostname: text(osInfo?.hostname),
    os: {
      platform: text(osInfo?.platform),
      distro: text(osInfo?.distro),
      release: text(osInfo?.release),
      build: optional(osInfo?.build),
      kernel: text(osInfo?.kernel),
      arch: text(osInfo?.arch),
    },
    system: {
      manufacturer: text(system?.manufacturer),
      model: text(system?.model),
      // systeminformation reports "-" when it could not read the serial.
      serial: optional(system?.serial === "-" ? "" : system?.serial),
    },
    cpu: {
      manufacturer: text(cpu?.manufacturer),
      brand: text(cpu?.brand),
      cores: count(cpu?.cores),
      physicalCores: count(cpu?.physicalCores),
      // 0 is how systeminformation says it does not know (VMs often hide the clock).
      speedGHz: count(cpu?.speed) || undefined,
    },
    memory: { totalBytes: count(mem?.total) },
    disks: sortBy(
      (disks ?? []).map((d) => ({
        name: text(d.name) || text(d.device),
        type: optional(d.type),
        sizeBytes: count(d.size),
        vendor: optional(d.vendor),
      })),
      (d) => [d.name, d.sizeBytes, d.type ?? "", d.vendor ?? ""],
    ).slice(0, MAX_ITEMS),
    filesystems: sortBy(
      (filesystems ?? []).map((f) => ({
        mount: text(f.mount),
        fsType: text(f.type),
        sizeBytes: count(f.size),
        usedBytes: Math.round(count(f.used) / GiB) * GiB,
      })),
      (f) => [f.mount, f.fsType, f.sizeBytes, f.usedBytes],
    ).slice(0, MAX_ITEMS),
    network: sortBy(
      Object.entries(interfaces ?? {}).map(([iface, list = []]) => ({
        iface,
        mac: normalizeMac(list[0]?.mac),
        ipv4: addresses(list, "IPv4"),
        ipv6: addresses(list, "IPv6"),
        internal: list.some((a) => a.internal),
      })),
      (n) => [n.iface],
    ).slice(0, MAX_ITEMS),
    bootTime: time ? new Date(Math.round((time.current - time.uptime * 1000) / MINUTE) * MINUTE).toISOString() : "",
    users: sortBy(
      (users ?? [])
        .map((u) => ({
          user: text(u.user),
          tty: optional(u.tty),
          loginTime: optional(`${text(u.date)} ${text(u.time)}`),
        }))
        .filter((u) => u.user !== ""),
      (u) => [u.user, u.tty ?? "", u.loginTime ?? ""],
    ).slice(0, MAX_USERS),
  });
}

async function guarded<T>(
  part: keyof InventorySource,
  fn: () => Promise<T>,
  opts: CollectOptions,
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${part} did not answer in time`)), opts.callTimeoutMs ?? 60_000);
  });
  try {
    // Promise.resolve().then: a source that throws synchronously is caught like one that rejects.
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } catch (error) {
    opts.onPartFailed?.(part, error);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

function text(value: string | undefined | null): string {
  return typeof value === "string" ? value.trim() : "";
}

function optional(value: string | undefined | null): string | undefined {
  return text(value) || undefined;
}

function count(value: number | undefined | null): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

function addresses(list: NetworkInterfaceInfo[], family: NetworkInterfaceInfo["family"]): string[] {
  const found = list.filter((a) => a.family === family).map((a) => a.address);
  return [...new Set(found)].sort().slice(0, MAX_ADDRESSES);
}

/**
 * Sorts by the given keys in order, so arrays come out the same whatever order the OS listed them in.
 * Callers give every field as a key: entries that tie are then identical, and their order cannot matter.
 */
function sortBy<T>(items: T[], keys: (item: T) => (string | number)[]): T[] {
  return items.sort((a, b) => {
    const ka = keys(a);
    const kb = keys(b);
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i] as string | number;
      const y = kb[i] as string | number;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  });
}
