import { z } from "zod";
import type { ListSpec } from "./list-query.js";

export const ConnectKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
    /** Absent: never expires. */
    expiresAt: z.string().nullable(),
    /** Absent: any number of enrollments. */
    maxUses: z.number().int().nullable(),
    uses: z.number().int(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    /** `active` | `revoked` | `expired` | `used_up`, computed at read time. */
    state: z.enum(["active", "revoked", "expired", "used_up"]),
  })
  .meta({ id: "ConnectKey" });
export type ConnectKeyInfo = z.infer<typeof ConnectKeySchema>;

export const CreateConnectKeySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    /** Seconds from now; an alternative to expiresAt. */
    expiresInSeconds: z.number().int().positive().max(10 * 365 * 86400).optional(),
    maxUses: z.number().int().positive().max(1_000_000).optional(),
  })
  .strict()
  .refine((v) => !(v.expiresAt && v.expiresInSeconds), { message: "give expiresAt or expiresInSeconds, not both", path: ["expiresAt"] })
  .meta({ id: "CreateConnectKey" });

export const CreatedConnectKeySchema = ConnectKeySchema.extend({
  /** The token an agent needs (`tck_…`): URL, CA fingerprint and secret. Shown once. */
  connectKey: z.string(),
}).meta({ id: "CreatedConnectKey" });

export const CONNECT_KEY_LIST: ListSpec = {
  idColumn: "id",
  fields: {
    name: { column: "name", sortable: true, filterable: true },
    createdAt: { column: "created_at", sortable: true, filterable: true },
    expiresAt: { column: "expires_at", sortable: true, filterable: true },
  },
};
