import { describe, expect, it } from "vitest";
import type { DeviceWithInventory } from "../../control-plane/src/domain/device.js";
import { describeHttpError } from "../../control-plane/src/ctl/api-client.js";
import { renderDevice } from "../../control-plane/src/ctl/device-view.js";
import { bytes, relativeTime, timestamp } from "../../control-plane/src/ctl/format.js";
import { listQuery, renderPage } from "../../control-plane/src/ctl/list.js";
import { renderFields, renderTable, type Column } from "../../control-plane/src/ctl/table.js";

/** tetherctl's human output and the list queries it sends: pure functions, no server. */

interface Row {
  name: string;
  count: number;
  note: string | null;
}

const COLUMNS: Column<Row>[] = [
  { header: "name", value: (r) => r.name },
  { header: "count", value: (r) => r.count, align: "right" },
  { header: "note", value: (r) => r.note },
];

describe("renderTable", () => {
  it("aligns columns under upper-case headers, right-aligns numbers and shows - for missing values", () => {
    const table = renderTable<Row>(
      [
        { name: "web-1", count: 5, note: "primary" },
        { name: "database-01", count: 120, note: null },
        { name: "x", count: 0, note: "" },
      ],
      COLUMNS,
    );
    expect(table.split("\n")).toEqual([
      "NAME         COUNT  NOTE",
      "web-1            5  primary",
      "database-01    120  -",
      "x                0  -",
    ]);
  });

  it("leaves no trailing spaces when the last column is narrower than its header", () => {
    const table = renderTable([{ name: "a", count: 1, note: "n" }], COLUMNS);
    for (const line of table.split("\n")) expect(line).toBe(line.trimEnd());
  });

  it("prints only the header for no rows", () => {
    expect(renderTable([], COLUMNS)).toBe("NAME  COUNT  NOTE");
  });
});

describe("renderFields", () => {
  it("aligns values after their labels and indents the further lines of a list", () => {
    expect(
      renderFields([
        ["ID", "dev_1"],
        ["Serial", undefined],
        ["Disks", ["sda  100 GiB", "sdb  2.0 TiB"]],
        ["Groups", []],
      ]).split("\n"),
    ).toEqual(["ID:      dev_1", "Serial:  -", "Disks:   sda  100 GiB", "         sdb  2.0 TiB", "Groups:  -"]);
  });
});

describe("formatting", () => {
  const now = Date.parse("2025-03-10T12:00:00Z");
  const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

  it.each([
    [2, "just now"],
    [45, "45s ago"],
    [150, "2m ago"],
    [3 * 3600 + 59 * 60, "3h ago"],
    [5 * 86_400, "5d ago"],
    [-7 * 86_400 + 1, "in 7d"],
    [-90, "in 2m"],
  ])("%i seconds ago reads %s", (seconds, expected) => {
    expect(relativeTime(ago(seconds), now)).toBe(expected);
  });

  it("keeps null as null, so tables show -", () => {
    expect(relativeTime(null, now)).toBeNull();
    expect(timestamp(null)).toBeNull();
  });

  it("prints timestamps in UTC to the second", () => {
    expect(timestamp("2025-03-10T14:05:09.123+02:00")).toBe("2025-03-10 12:05:09Z");
  });

  it.each([
    [512, "512 B"],
    [1536, "1.5 KiB"],
    [16 * 1024 ** 3, "16.0 GiB"],
    [2 * 1024 ** 4, "2.0 TiB"],
  ])("%i bytes reads %s", (count, expected) => {
    expect(bytes(count)).toBe(expected);
  });
});

describe("listQuery", () => {
  it("turns shortcut flags into exact-match filters ahead of --filter, skipping unset ones", () => {
    const query = listQuery(
      { filter: ["hostname:search:web", "lastContact:gt:2025-01-01"], sort: "-lastContact", limit: 50, skip: 100 },
      { status: "online", os: undefined, hostname: "web-1" },
    );
    expect(query.getAll("filter")).toEqual(["status:eq:online", "hostname:eq:web-1", "hostname:search:web", "lastContact:gt:2025-01-01"]);
    expect(query.get("sort")).toBe("-lastContact");
    expect(query.get("limit")).toBe("50");
    expect(query.get("skip")).toBe("100");
  });

  it("sends nothing the user did not ask for", () => {
    expect(listQuery({}, { status: undefined }).toString()).toBe("");
  });

  it("keeps colons and spaces inside a filter value", () => {
    const query = listQuery({}, { name: "Office: 2nd floor" });
    expect(new URLSearchParams(query.toString()).get("filter")).toBe("name:eq:Office: 2nd floor");
  });
});

describe("renderPage", () => {
  const rows: Row[] = [{ name: "a", count: 1, note: null }];

  it("says when there is more than the page shows, and how to get it", () => {
    expect(renderPage({ results: rows, totalCount: 3 }, COLUMNS, "rows", 1)).toBe("NAME  COUNT  NOTE\na         1  -\n(2–2 of 3; use --skip 2 for more)");
  });

  it("prints just the table when the page is complete", () => {
    expect(renderPage({ results: rows, totalCount: 1 }, COLUMNS, "rows")).toBe("NAME  COUNT  NOTE\na         1  -");
  });

  it("says so when there is nothing", () => {
    expect(renderPage({ results: [], totalCount: 0 }, COLUMNS, "rows")).toBe("No rows.");
  });
});

describe("describeHttpError", () => {
  it("uses the server's message and code", () => {
    const body = { error: { code: "forbidden", message: 'an API key with role "read-only" may not do this' } };
    expect(describeHttpError({ status: 403, body, text: JSON.stringify(body) })).toBe('an API key with role "read-only" may not do this (forbidden)');
  });

  it("falls back to the status and the first line of a body that is not the error shape", () => {
    expect(describeHttpError({ status: 502, body: undefined, text: "Bad Gateway\n<html>" })).toBe("the server answered HTTP 502: Bad Gateway");
    expect(describeHttpError({ status: 500, body: undefined, text: "" })).toBe("the server answered HTTP 500 without saying why");
  });
});

describe("renderDevice", () => {
  const now = Date.parse("2025-03-10T12:00:00Z");
  const device: DeviceWithInventory = {
    id: "dev_1",
    displayName: "Build box",
    hostname: "build-01",
    os: "linux",
    osVersion: "24.04",
    arch: "x64",
    agentVersion: "0.1.0",
    status: "online",
    lastContact: "2025-03-10T11:58:00Z",
    remoteIp: "10.0.0.7",
    enrolledAt: "2025-03-01T09:00:00Z",
    certificateExpiresAt: "2026-03-01T09:00:00Z",
    cloneSuspectedAt: null,
    desiredRevision: 3,
    inventoryUpdatedAt: "2025-03-10T11:00:00Z",
    groups: [
      { id: "dg_1", name: "servers" },
      { id: "dg_2", name: "ci" },
    ],
    inventory: {
      hostname: "build-01",
      os: { platform: "linux", distro: "Ubuntu", release: "24.04", kernel: "6.8.0-45-generic", arch: "x64" },
      system: { manufacturer: "Dell Inc.", model: "PowerEdge R640", serial: "7XK2M3" },
      cpu: { manufacturer: "Intel", brand: "Xeon Gold 6230", cores: 40, physicalCores: 20, speedGHz: 2.1 },
      memory: { totalBytes: 64 * 1024 ** 3 },
      disks: [{ name: "/dev/nvme0n1", type: "NVMe", sizeBytes: 512 * 1024 ** 3, vendor: "Samsung" }],
      filesystems: [],
      network: [
        { iface: "lo", ipv4: ["127.0.0.1"], ipv6: ["::1"], internal: true },
        { iface: "eno1", mac: "aa:bb:cc:dd:ee:ff", ipv4: ["10.0.0.7"], ipv6: [], internal: false },
      ],
      bootTime: "2025-03-09T08:00:00Z",
      users: [],
    },
  };

  it("summarises the device and its inventory, leaving out loopback interfaces", () => {
    const lines = renderDevice(device, now).split("\n");
    expect(lines).toContain("Status:       online, last contact 2m ago");
    expect(lines).toContain("Groups:       servers, ci");
    expect(lines).toContain("OS:           Ubuntu 24.04 (linux 6.8.0-45-generic, x64)");
    expect(lines).toContain("Serial:       7XK2M3");
    expect(lines).toContain("CPU:          Xeon Gold 6230 (40 cores, 20 physical, 2.1 GHz)");
    expect(lines).toContain("Memory:       64.0 GiB");
    expect(lines).toContain("Disks:        /dev/nvme0n1  512.0 GiB  NVMe  Samsung");
    expect(lines).toContain("Network:      eno1  10.0.0.7  aa:bb:cc:dd:ee:ff");
    expect(lines.join("\n")).not.toContain("127.0.0.1");
    expect(lines).toContain("Inventory:    updated 1h ago");
  });

  it("says when no inventory has arrived yet", () => {
    const text = renderDevice({ ...device, inventory: null, inventoryUpdatedAt: null }, now);
    expect(text).toContain("OS:           linux 24.04 (x64)");
    expect(text).toContain("Inventory:    not reported yet");
    expect(text).not.toContain("Memory:");
  });
});
