import { z } from "zod";
import type { ListSpec } from "./list-query.js";

export const DeviceGroupSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    memberCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "DeviceGroup" });
export type DeviceGroup = z.infer<typeof DeviceGroupSchema>;

/** Group names (device and user groups) appear in CLIs and CSV files: printable, no leading/trailing space. */
export const groupName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, "must not contain control characters");

export const CreateDeviceGroupSchema = z
  .object({ name: groupName, description: z.string().max(1000).default("") })
  .strict()
  .meta({ id: "CreateDeviceGroup" });

export const UpdateDeviceGroupSchema = z
  .object({ name: groupName, description: z.string().max(1000) })
  .partial()
  .strict()
  .meta({ id: "UpdateDeviceGroup" });

export const GroupMembersSchema = z
  .object({ deviceIds: z.array(z.string().min(1).max(64)).min(1).max(10_000) })
  .strict()
  .meta({ id: "GroupMembers" });

export const DEVICE_GROUP_LIST: ListSpec = {
  idColumn: "id",
  fields: {
    name: { column: "name", sortable: true, filterable: true },
    createdAt: { column: "created_at", sortable: true, filterable: true },
  },
};
