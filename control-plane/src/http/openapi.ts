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
      ...(def.access === "public" ? {} : { 401: errorResponse("No or unknown API key"), 403: errorResponse("The key's role may not do this") }),
    };
    registry.registerPath({
      method: def.method,
      path: def.path.replace(/:(\w+)/g, "{$1}"),
      summary: def.summary,
      tags: [def.tag],
      ...(def.access === "public" ? {} : { security: [{ apiKey: [] }], description: `Roles: ${def.access.join(", ")}` }),
      request: {
        ...(def.params ? { params: def.params as z.ZodObject } : {}),
        ...(def.query ? { query: def.query as z.ZodObject } : {}),
        ...(def.body ? { body: { content: { "application/json": { schema: def.body } } } } : {}),
      },
      responses: {
        [def.status ?? (def.response ? 200 : 204)]: def.response
          ? { description: "Success", content: { "application/json": { schema: def.response } } }
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
