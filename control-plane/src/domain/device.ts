import { z } from "zod";
import { InventorySchema } from "../../../shared/src/protocol/inventory.js";
import type { ListSpec } from "./list-query.js";

export const DEVICE_STATUSES = ["online", "offline"] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const DeviceSchema = z
  .object({
    id: z.string(),
    displayName: z.string(),
    hostname: z.string(),
    os: z.string(),
    osVersion: z.string(),
    arch: z.string(),
    agentVersion: z.string(),
    status: z.enum(DEVICE_STATUSES),
    lastContact: z.string().nullable(),
    remoteIp: z.string().nullable(),
    enrolledAt: z.string(),
    certificateExpiresAt: z.string(),
    /** Set when the same identity was seen on another machine; see docs/enrollment.md. */
    cloneSuspectedAt: z.string().nullable(),
    /** Bumped whenever what this device should look like changes; the agent consumes it. */
    desiredRevision: z.number().int(),
  })
  .meta({ id: "Device" });
export type Device = z.infer<typeof DeviceSchema>;

export const DeviceWithInventorySchema = DeviceSchema.extend({
  inventory: InventorySchema.nullable(),
  inventoryUpdatedAt: z.string().nullable(),
  groups: z.array(z.object({ id: z.string(), name: z.string() })),
}).meta({ id: "DeviceWithInventory" });
export type DeviceWithInventory = z.infer<typeof DeviceWithInventorySchema>;

export const UpdateDeviceSchema = z
  .object({ displayName: z.string().trim().min(1).max(255) })
  .partial()
  .strict()
  .meta({ id: "UpdateDevice" });

export const DEVICE_LIST: ListSpec = {
  idColumn: "id",
  fields: {
    hostname: { column: "hostname", sortable: true, filterable: true },
    displayName: { column: "display_name", sortable: true, filterable: true },
    os: { column: "os", sortable: true, filterable: true },
    status: { column: "status", sortable: true, filterable: true, values: DEVICE_STATUSES },
    lastContact: { column: "last_contact", sortable: true, filterable: true },
    enrolledAt: { column: "enrolled_at", sortable: true, filterable: true },
    agentVersion: { column: "agent_version", sortable: true, filterable: true },
  },
};
