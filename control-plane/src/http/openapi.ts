import { OpenAPIRegistry, OpenApiGeneratorV3 } from "@asteasolutions/zod-to-openapi";
import type { z } from "zod";
import type { AnyRoute } from "./route.js";
import { ErrorResponseSchema } from "./schemas.js";

/** Builds the OpenAPI 3 document from the same route declarations Express serves. */
export function buildOpenApiDocument(routes: readonly AnyRoute[], version: string): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "x-api-key" });
  for (const def of routes) {
    const errors = {
      400: errorResponse("The request is invalid; details name each field"),
      ...(def.access === "public" ? {} : { 401: errorResponse("No or unknown credentials"), 403: errorResponse("Not allowed for this caller") }),
    };
    registry.registerPath({
      method: def.method,
      path: def.path.replace(/:(\w+)/g, "{$1}"),
      summary: def.summary,
      tags: [def.tag],
      ...(def.access === "public"
        ? {}
        : def.access === "agent"
          ? { description: "Called by agents with their device certificate (mutual TLS)" }
          : { security: [{ apiKey: [] }], description: `Roles: ${def.access.join(", ")}` }),
      request: {
        ...(def.params ? { params: def.params as z.ZodObject } : {}),
        ...(def.query ? { query: def.query as z.ZodObject } : {}),
        ...(def.body ? { body: { content: { "application/json": { schema: def.body } } } } : {}),
        ...(def.rawBody ? { body: { content: { [def.rawBody]: { schema: { type: "string", format: "binary" } } } } } : {}),
        ...(def.uploadTypes ? { body: { content: Object.fromEntries(def.uploadTypes.map((type) => [type, { schema: { type: "string", format: "binary" } }])) } } : {}),
      },
      responses: {
        [def.status ?? (def.response || def.responseTypes ? 200 : 204)]:
          def.response || def.responseTypes
            ? {
                description: "Success",
                content: {
                  ...(def.response ? { "application/json": { schema: def.response } } : {}),
                  ...Object.fromEntries((def.responseTypes ?? []).map((type) => [type, { schema: { type: "string" as const } }])),
                },
              }
            : { description: "Success, no content" },
        ...errors,
      },
    });
  }
  const generator = new OpenApiGeneratorV3(registry.definitions);
  return generator.generateDocument({
    openapi: "3.0.3",
    info: { title: "Tether control plane", version, description: "REST API of the Tether control plane. Authenticate with an API key in x-api-key." },
  });
}

function errorResponse(description: string) {
  return { description, content: { "application/json": { schema: ErrorResponseSchema } } };
}
