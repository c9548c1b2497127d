import { z } from "zod";
import { AdHocRunSchema, COMMAND_LIST, CommandSchema, CreateCommandSchema, ExecutionSchema, RunCommandSchema, UpdateCommandSchema } from "../../domain/command.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { ADMINS, COMMAND_READERS, COMMAND_RUNNERS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

const LaunchResultSchema = z
  .object({
    runId: z.string(),
    executions: z.array(ExecutionSchema),
    skipped: z.array(z.object({ deviceId: z.string(), reason: z.string() })),
  })
  .meta({ id: "LaunchResult" });

export function commandRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/commands",
      summary: "Save a command",
      tag: "commands",
      access: ADMINS,
      body: CreateCommandSchema,
      response: CommandSchema,
      status: 201,
      handle: ({ body, ctx }) => s.commands.create(ctx, body),
    }),
    route({
      method: "get",
      path: "/api/v1/commands",
      summary: "List commands (a command-runner key sees only its own)",
      tag: "commands",
      access: COMMAND_READERS,
      query: ListParamsSchema,
      response: pageOf(CommandSchema),
      handle: ({ query, ctx }) => s.commands.list(parseListQuery(query, COMMAND_LIST), ctx.actor),
    }),
    route({
      method: "get",
      path: "/api/v1/commands/:id",
      summary: "Get a command (by id or name)",
      tag: "commands",
      access: COMMAND_READERS,
      params: IdParamsSchema,
      response: CommandSchema,
      handle: ({ params, ctx }) => s.commands.get(params.id, ctx.actor),
    }),
    route({
      method: "patch",
      path: "/api/v1/commands/:id",
      summary: "Change a command (fields not given keep their value)",
      tag: "commands",
      access: ADMINS,
      params: IdParamsSchema,
      body: UpdateCommandSchema,
      response: CommandSchema,
      handle: ({ params, body, ctx }) => s.commands.update(ctx, params.id, body),
    }),
    route({
      method: "delete",
      path: "/api/v1/commands/:id",
      summary: "Delete a command (its results stay)",
      tag: "commands",
      access: ADMINS,
      params: IdParamsSchema,
      handle: ({ params, ctx }) => s.commands.delete(ctx, params.id),
    }),
    route({
      method: "post",
      path: "/api/v1/commands/:id/run",
      summary: "Run a command on its targets (optionally only some of them); returns the executions",
      tag: "commands",
      access: COMMAND_RUNNERS,
      params: IdParamsSchema,
      body: RunCommandSchema,
      response: LaunchResultSchema,
      status: 201,
      handle: ({ params, body, ctx }) => s.commands.run(ctx, params.id, body.deviceIds),
    }),
    route({
      method: "post",
      path: "/api/v1/command-runs",
      summary: "Run a script without saving it",
      tag: "commands",
      access: ADMINS,
      body: AdHocRunSchema,
      response: LaunchResultSchema,
      status: 201,
      handle: ({ body, ctx }) => s.commands.runAdHoc(ctx, body),
    }),
    route({
      method: "post",
      path: "/api/v1/command-triggers/:name",
      summary: "Run the command with this trigger name; the body's top-level keys become environment variables",
      tag: "commands",
      access: COMMAND_RUNNERS,
      params: z.object({ name: z.string().min(1).max(100) }),
      body: z.record(z.string(), z.unknown()),
      response: LaunchResultSchema,
      status: 201,
      handle: ({ params, body, ctx }) => s.commands.trigger(ctx, params.name, body),
    }),
  ];
}
