import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { InventorySchema } from "../../shared/src/protocol/inventory.js";
import { collectInventory, type InventorySource } from "../../agent/src/inventory/collect.js";
import { inventoryDigest } from "../../agent/src/inventory/digest.js";

const GiB = 1024 ** 3;
const BOOT = Date.parse("2026-11-29T04:45:00.000Z");

/**
 * What systeminformation returned on the Debian 12 VM these tests were written on (`si.osInfo()`,
 * `si.system()`, … printed as JSON), with a second disk, filesystem and logged-in user added in the
 * shapes systeminformation gives on a desktop, and listed out of order on purpose.
 */
function cannedSource(overrides: Partial<InventorySource> = {}): InventorySource {
  return {
    osInfo: async () => ({
      platform: "linux",
      distro: "Debian GNU/Linux",
      release: "12",
      build: "",
      kernel: "6.18.44-fc-v782",
      arch: "x64",
      hostname: "vm",
    }),
    system: async () => ({ manufacturer: "", model: "Docker Container", serial: "-" }),
    cpu: async () => ({ manufacturer: "AMD", brand: "EPYC", speed: 0, cores: 2, physicalCores: 2 }),
    mem: async () => ({ total: 25276063744 }),
    diskLayout: async () => [
      { device: "/dev/sda", type: "HD", name: "WDC WD40EFRX-68N32N0 ", vendor: "Western Digital", size: 4000787030016 },
      { device: "/dev/nvme0n1", type: "NVMe", name: "Samsung SSD 970 EVO Plus 1TB", vendor: "", size: 1000204886016 },
    ],
    fsSize: async () => [
      { mount: "/srv", type: "xfs", size: 3998639460352, used: 21.4 * GiB },
      { mount: "/", type: "ext4", size: 270553174016, used: 23473868800 },
    ],
    networkInterfaces: async () => ({
      lo: [
        { address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: true, cidr: "127.0.0.1/8" },
        { address: "::1", netmask: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", family: "IPv6", mac: "00:00:00:00:00:00", internal: true, cidr: "::1/128", scopeid: 0 },
      ],
      eth0: [
        { address: "192.0.2.2", netmask: "255.255.255.0", family: "IPv4", mac: "02:FC:00:00:00:01", internal: false, cidr: "192.0.2.2/24" },
        { address: "fe80::fc:ff:fe00:1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:FC:00:00:00:01", internal: false, cidr: "fe80::fc:ff:fe00:1/64", scopeid: 4 },
        { address: "fd00::2", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:FC:00:00:00:01", internal: false, cidr: "fd00::2/64", scopeid: 0 },
      ],
    }),
    time: async () => ({ current: BOOT + 347_810, uptime: 347.81 }),
    users: async () => [
      { user: "root", tty: "pts/0", date: "2026-11-29", time: "04:51" },
      { user: "alice", tty: "tty2", date: "2026-11-29", time: "04:47" },
    ],
    ...overrides,
  };
}

describe("collectInventory on this machine", () => {
  it("gives a valid inventory, and the same digest when collected twice", async () => {
    const failed: string[] = [];
    const first = await collectInventory(undefined, { onPartFailed: (part) => failed.push(part) });
    const second = await collectInventory();

    expect(InventorySchema.safeParse(first).success).toBe(true);
    expect(first.hostname).toBe(hostname());
    expect(first.memory.totalBytes).toBeGreaterThan(0);
    expect(first.network.some((n) => n.internal)).toBe(true);
    expect(failed).toEqual([]);
    expect(inventoryDigest(second)).toBe(inventoryDigest(first));
  });
});

describe("collectInventory from a canned source", () => {
  it("maps, trims, rounds and sorts", async () => {
    const inv = await collectInventory(cannedSource());

    expect(inv.hostname).toBe("vm");
    expect(inv.os).toEqual({ platform: "linux", distro: "Debian GNU/Linux", release: "12", kernel: "6.18.44-fc-v782", arch: "x64" });
    expect(inv.system).toEqual({ manufacturer: "", model: "Docker Container" });
    expect(inv.cpu).toEqual({ manufacturer: "AMD", brand: "EPYC", cores: 2, physicalCores: 2 });
    expect(inv.disks).toEqual([
      { name: "Samsung SSD 970 EVO Plus 1TB", type: "NVMe", sizeBytes: 1000204886016 },
      { name: "WDC WD40EFRX-68N32N0", type: "HD", sizeBytes: 4000787030016, vendor: "Western Digital" },
    ]);
    expect(inv.filesystems).toEqual([
      { mount: "/", fsType: "ext4", sizeBytes: 270553174016, usedBytes: 22 * GiB }, // 21.86 GiB
      { mount: "/srv", fsType: "xfs", sizeBytes: 3998639460352, usedBytes: 21 * GiB }, // 21.4 GiB
    ]);
    expect(inv.network).toEqual([
      { iface: "eth0", mac: "02:fc:00:00:00:01", ipv4: ["192.0.2.2"], ipv6: ["fd00::2", "fe80::fc:ff:fe00:1"], internal: false },
      { iface: "lo", ipv4: ["127.0.0.1"], ipv6: ["::1"], internal: true },
    ]);
    expect(inv.bootTime).toBe("2026-11-29T04:45:00.000Z");
    expect(inv.users).toEqual([
      { user: "alice", tty: "tty2", loginTime: "2026-11-29 04:47" },
      { user: "root", tty: "pts/0", loginTime: "2026-11-29 04:51" },
    ]);
  });

  it("rounds boot time to the nearest minute", async () => {
    const at = async (secondsPastBoot: number, uptime: number) =>
      (await collectInventory(cannedSource({ time: async () => ({ current: BOOT + secondsPastBoot * 1000, uptime }) }))).bootTime;
    expect(await at(3600 + 29, 3600)).toBe("2026-11-29T04:45:00.000Z");
    expect(await at(3600 + 31, 3600)).toBe("2026-11-29T04:46:00.000Z");
    expect(await at(3600 - 29.5, 3600)).toBe("2026-11-29T04:45:00.000Z");
  });

  it("keeps a valid inventory when calls fail, leaving only their parts empty", async () => {
    const failed: string[] = [];
    const inv = await collectInventory(
      cannedSource({
        diskLayout: async () => {
          throw new Error("Command failed: lsblk -bPo NAME,TYPE,SIZE");
        },
        // A source that throws before returning a promise is caught the same way.
        users: () => {
          throw new Error("who: not found");
        },
        system: () => Promise.reject(new Error("dmidecode: permission denied")),
      }),
      { onPartFailed: (part) => failed.push(part) },
    );

    expect(InventorySchema.safeParse(inv).success).toBe(true);
    expect(inv.disks).toEqual([]);
    expect(inv.users).toEqual([]);
    expect(inv.system).toEqual({ manufacturer: "", model: "" });
    expect(inv.filesystems).toHaveLength(2);
    expect(inv.hostname).toBe("vm");
    expect(failed.sort()).toEqual(["diskLayout", "system", "users"]);
  });

  it("gives up on a call that hangs", async () => {
    const failed: string[] = [];
    const inv = await collectInventory(cannedSource({ fsSize: () => new Promise(() => {}) }), {
      callTimeoutMs: 50,
      onPartFailed: (part) => failed.push(part),
    });
    expect(inv.filesystems).toEqual([]);
    expect(inv.disks).toHaveLength(2);
    expect(failed).toEqual(["fsSize"]);
  });

  it("turns empty and whitespace-only optional strings into absent fields", async () => {
    const inv = await collectInventory(
      cannedSource({
        osInfo: async () => ({ platform: "win32", distro: " Microsoft Windows 11 Pro ", release: "10.0.22631", build: "  ", kernel: "10.0.22631", arch: "x64", hostname: " DESKTOP-7Q1 " }),
        system: async () => ({ manufacturer: "LENOVO", model: "20XW0026GE", serial: " PF2ABCDE " }),
        cpu: async () => ({ manufacturer: "Intel", brand: "Core™ i7-1165G7", speed: 2.8, cores: 8, physicalCores: 4 }),
        users: async () => [{ user: "alice", tty: "", date: "", time: "" }, { user: " ", tty: "console", date: "", time: "" }],
      }),
    );
    expect(inv.hostname).toBe("DESKTOP-7Q1");
    expect(inv.os.distro).toBe("Microsoft Windows 11 Pro");
    // Absent on the wire: the document goes out as JSON.
    expect(JSON.parse(JSON.stringify(inv)).os).not.toHaveProperty("build");
    expect(inv.system.serial).toBe("PF2ABCDE");
    expect(inv.cpu.speedGHz).toBe(2.8);
    expect(inv.users).toEqual([{ user: "alice" }]);
  });

  it("stays within the schema's list limits on a host with hundreds of mounts", async () => {
    const mounts = Array.from({ length: 300 }, (_, i) => ({
      mount: `/var/lib/kubelet/pods/${String(i).padStart(3, "0")}/volumes`,
      type: "overlay",
      size: GiB,
      used: 0,
    }));
    const inv = await collectInventory(cannedSource({ fsSize: async () => mounts.reverse() }));
    expect(inv.filesystems).toHaveLength(256);
    expect(inv.filesystems[0]?.mount).toBe("/var/lib/kubelet/pods/000/volumes");
  });
});

describe("inventoryDigest", () => {
  it("does not depend on the order the OS listed things in or on sub-GiB usage changes", async () => {
    const base = cannedSource();
    const shuffled = cannedSource({
      fsSize: async () => [
        { mount: "/", type: "ext4", size: 270553174016, used: 23473868800 + 200 * 1024 ** 2 },
        { mount: "/srv", type: "xfs", size: 3998639460352, used: 21.4 * GiB },
      ],
      users: async () => (await base.users()).reverse(),
      diskLayout: async () => (await base.diskLayout()).reverse(),
    });
    expect(inventoryDigest(await collectInventory(shuffled))).toBe(inventoryDigest(await collectInventory(base)));
  });

  it("does not depend on the order of keys", async () => {
    const inv = await collectInventory(cannedSource());
    const reordered = {
      ...Object.fromEntries(Object.entries(inv).reverse()),
      os: Object.fromEntries(Object.entries(inv.os).reverse()),
    } as typeof inv;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(inv));
    expect(inventoryDigest(reordered)).toBe(inventoryDigest(inv));
  });

  it("changes when a fact changes", async () => {
    const inv = await collectInventory(cannedSource());
    const digest = inventoryDigest(inv);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(inventoryDigest({ ...inv, memory: { totalBytes: inv.memory.totalBytes + 1 } })).not.toBe(digest);
    expect(inventoryDigest({ ...inv, users: inv.users.slice(1) })).not.toBe(digest);
  });
});
