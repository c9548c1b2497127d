import { CONNECT_KEY_LIST, ConnectKeySchema, CreateConnectKeySchema, CreatedConnectKeySchema } from "../../domain/connect-key.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { ADMINS, READERS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

export function connectKeyRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/connect-keys",
      summary: "Create a connect key for enrolling agents (the token is shown once)",
      tag: "connect-keys",
      access: ADMINS,
      body: CreateConnectKeySchema,
      response: CreatedConnectKeySchema,
      status: 201,
      handle: ({ body, ctx }) => s.connectKeys.create(ctx, body),
    }),
    route({
      method: "get",
      path: "/api/v1/connect-keys",
      summary: "List connect keys",
      tag: "connect-keys",
      access: READERS,
      query: ListParamsSchema,
      response: pageOf(ConnectKeySchema),
      handle: ({ query, ctx }) => s.connectKeys.list(parseListQuery(query, CONNECT_KEY_LIST), ctx.now),
    }),
    route({
      method: "get",
      path: "/api/v1/connect-keys/:id",
      summary: "Get a connect key's metadata",
      tag: "connect-keys",
      access: READERS,
      params: IdParamsSchema,
      response: ConnectKeySchema,
      handle: ({ params, ctx }) => s.connectKeys.get(params.id, ctx.now),
    }),
    route({
      method: "delete",
      path: "/api/v1/connect-keys/:id",
      summary: "Revoke a connect key; enrolled devices are not affected",
      tag: "connect-keys",
      access: ADMINS,
      params: IdParamsSchema,
      response: ConnectKeySchema,
      handle: ({ params, ctx }) => s.connectKeys.revoke(ctx, params.id),
    }),
  ];
}
