import { EXECUTION_LIST, ExecutionSchema } from "../../domain/command.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { COMMAND_READERS, COMMAND_RUNNERS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

export function commandResultRoutes(s: Services) {
  return [
    route({
      method: "get",
      path: "/api/v1/command-results",
      summary: "List executions, newest first (filter by commandId, deviceId, runId, status, requestedAt); without output",
      tag: "command-results",
      access: COMMAND_READERS,
      query: ListParamsSchema,
      response: pageOf(ExecutionSchema),
      handle: ({ query, ctx }) => s.executions.list(parseListQuery(query, EXECUTION_LIST), ctx.actor),
    }),
    route({
      method: "get",
      path: "/api/v1/command-results/:id",
      summary: "One execution with its output (live while it runs)",
      tag: "command-results",
      access: COMMAND_READERS,
      params: IdParamsSchema,
      response: ExecutionSchema,
      handle: ({ params, ctx }) => s.executions.get(params.id, ctx.actor),
    }),
    route({
      method: "post",
      path: "/api/v1/command-results/:id/cancel",
      summary: "Cancel a queued execution, or kill a running one",
      tag: "command-results",
      access: COMMAND_RUNNERS,
      params: IdParamsSchema,
      response: ExecutionSchema,
      handle: ({ params, ctx }) => s.executions.cancel(ctx, params.id),
    }),
  ];
}
