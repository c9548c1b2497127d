import { z } from "zod";
import { FileInfoSchema } from "../../services/files.js";
import type { Services } from "../../services/index.js";
import { ADMINS, READERS, route } from "../route.js";
import { IdParamsSchema } from "../schemas.js";

export function fileRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/files",
      summary: "Upload a command attachment (raw bytes; ?name=…); limit TETHER_MAX_FILE, 413 past it",
      tag: "files",
      access: ADMINS,
      query: z.object({ name: z.string().min(1).max(255) }),
      rawBody: "application/octet-stream",
      response: FileInfoSchema,
      status: 201,
      handle: ({ query, ctx, req }) => s.files.upload(ctx, query.name, req.body as Buffer),
    }),
    route({
      method: "get",
      path: "/api/v1/files",
      summary: "List uploaded files",
      tag: "files",
      access: READERS,
      response: z.object({ results: z.array(FileInfoSchema), totalCount: z.number().int() }),
      handle: () => {
        const results = s.files.list();
        return { results, totalCount: results.length };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/files/:id",
      summary: "Get an uploaded file's metadata",
      tag: "files",
      access: READERS,
      params: IdParamsSchema,
      response: FileInfoSchema,
      handle: ({ params }) => s.files.get(params.id),
    }),
  ];
}
