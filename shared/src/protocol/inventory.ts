import { z } from "zod";

/**
 * The hardware and OS facts an agent reports. Only slow-moving facts are included (boot time rather
 * than uptime, total rather than free memory) so that an unchanged machine produces an identical
 * document and the agent can skip sending it. Absent optional fields mean "the OS did not say".
 */
export const InventorySchema = z.object({
  hostname: z.string().max(255),
  os: z.object({
    platform: z.string().max(64),
    distro: z.string().max(255),
    release: z.string().max(128),
    build: z.string().max(128).optional(),
    kernel: z.string().max(128),
    arch: z.string().max(32),
  }),
  system: z.object({
    manufacturer: z.string().max(255),
    model: z.string().max(255),
    serial: z.string().max(255).optional(),
  }),
  cpu: z.object({
    manufacturer: z.string().max(255),
    brand: z.string().max(255),
    cores: z.number().int().nonnegative(),
    physicalCores: z.number().int().nonnegative(),
    speedGHz: z.number().nonnegative().optional(),
  }),
  memory: z.object({ totalBytes: z.number().nonnegative() }),
  disks: z
    .array(
      z.object({
        name: z.string().max(255),
        type: z.string().max(64).optional(),
        sizeBytes: z.number().nonnegative(),
        vendor: z.string().max(255).optional(),
      }),
    )
    .max(256),
  filesystems: z
    .array(
      z.object({
        mount: z.string().max(1024),
        fsType: z.string().max(64),
        sizeBytes: z.number().nonnegative(),
        /** Rounded to whole GiB by the agent so small changes do not count as a new inventory. */
        usedBytes: z.number().nonnegative(),
      }),
    )
    .max(256),
  network: z
    .array(
      z.object({
        iface: z.string().max(255),
        mac: z.string().max(64).optional(),
        ipv4: z.array(z.string().max(64)).max(64),
        ipv6: z.array(z.string().max(128)).max(64),
        internal: z.boolean(),
      }),
    )
    .max(256),
  /** ISO-8601, rounded to the minute: uptime changes every second, boot time does not. */
  bootTime: z.string().max(64),
  users: z
    .array(z.object({ user: z.string().max(255), tty: z.string().max(64).optional(), loginTime: z.string().max(64).optional() }))
    .max(1024),
});
export type Inventory = z.infer<typeof InventorySchema>;

/**
 * What makes this machine this machine, sent in every hello so the control plane can tell a cloned
 * identity (the same certificate on another machine) from the original. Absent fields mean the OS
 * offered no such fact; the comparison uses only fields both sides have.
 */
export const MachineFingerprintSchema = z.object({
  machineId: z.string().max(255).optional(),
  serial: z.string().max(255).optional(),
  macs: z.array(z.string().max(64)).max(256),
});
export type MachineFingerprint = z.infer<typeof MachineFingerprintSchema>;
