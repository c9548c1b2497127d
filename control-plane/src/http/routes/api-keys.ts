import { API_KEY_LIST, ApiKeySchema, CreateApiKeySchema, CreatedApiKeySchema } from "../../domain/api-key.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { ADMINS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

// API keys are themselves secrets' metadata: only admins list them.
export function apiKeyRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/api-keys",
      summary: "Create an API key (the key is shown once)",
      tag: "api-keys",
      access: ADMINS,
      body: CreateApiKeySchema,
      response: CreatedApiKeySchema,
      status: 201,
      handle: ({ body, ctx }) => s.apiKeys.create(ctx, body),
    }),
    route({
      method: "get",
      path: "/api/v1/api-keys",
      summary: "List API keys",
      tag: "api-keys",
      access: ADMINS,
      query: ListParamsSchema,
      response: pageOf(ApiKeySchema),
      handle: ({ query }) => s.apiKeys.list(parseListQuery(query, API_KEY_LIST)),
    }),
    route({
      method: "get",
      path: "/api/v1/api-keys/:id",
      summary: "Get an API key's metadata",
      tag: "api-keys",
      access: ADMINS,
      params: IdParamsSchema,
      response: ApiKeySchema,
      handle: ({ params }) => s.apiKeys.get(params.id),
    }),
    route({
      method: "delete",
      path: "/api/v1/api-keys/:id",
      summary: "Revoke an API key (permanent)",
      tag: "api-keys",
      access: ADMINS,
      params: IdParamsSchema,
      response: ApiKeySchema,
      handle: ({ params, ctx }) => s.apiKeys.revoke(ctx, params.id),
    }),
  ];
}
