import { z } from "zod";
import type { ListSpec } from "./list-query.js";

export const AuditEventSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
    /** Dotted verb such as `device.deleted` or `api-key.created`. */
    action: z.string(),
    object: z.object({ type: z.string(), id: z.string().nullable() }),
    remoteAddr: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: "AuditEvent" });
export type AuditEvent = z.infer<typeof AuditEventSchema>;

export interface NewAuditEvent {
  action: string;
  objectType: string;
  objectId: string | null;
  details?: Record<string, unknown>;
}

export const EVENT_LIST: ListSpec = {
  idColumn: "id",
  defaultSort: [{ field: "at", descending: true }],
  fields: {
    at: { column: "at", sortable: true, filterable: true },
    action: { column: "action", sortable: true, filterable: true },
    actorType: { column: "actor_type", filterable: true },
    actorId: { column: "actor_id", filterable: true },
    objectType: { column: "object_type", filterable: true },
    objectId: { column: "object_id", filterable: true },
  },
};
