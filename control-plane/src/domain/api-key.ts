import { z } from "zod";
import { ROLES } from "./actor.js";
import type { ListSpec } from "./list-query.js";

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    /** The first characters of the key, to recognise it; the key itself is shown only at creation. */
    prefix: z.string(),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "ApiKey" });
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const CreateApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.enum(ROLES),
  })
  .strict()
  .meta({ id: "CreateApiKey" });

export const CreatedApiKeySchema = ApiKeySchema.extend({
  /** The key itself. Shown once: only its hash is stored. */
  key: z.string(),
}).meta({ id: "CreatedApiKey" });

export const API_KEY_PREFIX = "tak_";

export const API_KEY_LIST: ListSpec = {
  idColumn: "id",
  fields: {
    name: { column: "name", sortable: true, filterable: true },
    role: { column: "role", sortable: true, filterable: true, values: ROLES },
    createdAt: { column: "created_at", sortable: true, filterable: true },
  },
};
