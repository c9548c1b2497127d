import { z } from "zod";
import { PROTOCOL_VERSION } from "../../../../shared/src/protocol/version.js";
import { EVENT_LIST, AuditEventSchema } from "../../domain/event.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { READERS, route } from "../route.js";
import { ListParamsSchema, pageOf } from "../schemas.js";

const HealthSchema = z.object({ status: z.literal("ok"), version: z.string(), protocolVersion: z.number().int() }).meta({ id: "Health" });
const WhoAmISchema = z.object({ id: z.string(), name: z.string(), role: z.string() }).meta({ id: "WhoAmI" });

export function systemRoutes(s: Services, version: string) {
  return [
    route({
      method: "get",
      path: "/api/v1/health",
      summary: "Liveness: the server is up",
      tag: "system",
      access: "public",
      response: HealthSchema,
      handle: () => ({ status: "ok" as const, version, protocolVersion: PROTOCOL_VERSION }),
    }),
    route({
      method: "get",
      path: "/api/v1/whoami",
      summary: "The API key making this request",
      tag: "system",
      access: READERS,
      response: WhoAmISchema,
      handle: ({ ctx }) => (ctx.actor.type === "api-key" ? { id: ctx.actor.id, name: ctx.actor.name, role: ctx.actor.role } : undefined),
    }),
    route({
      method: "get",
      path: "/api/v1/events",
      summary: "The audit log, newest first (filter by action, actorId, objectType, objectId, at)",
      tag: "events",
      access: READERS,
      query: ListParamsSchema,
      response: pageOf(AuditEventSchema),
      handle: ({ query }) => s.events.list(parseListQuery(query, EVENT_LIST)),
    }),
  ];
}
