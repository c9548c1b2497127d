import { z } from "zod";

/** Shapes shared by many routes. */

export const IdParamsSchema = z.object({ id: z.string().min(1).max(128) });

export const ListParamsSchema = z.object({
  limit: z.string().optional().describe("page size, 1–1000 (default 100)"),
  skip: z.string().optional().describe("how many results to skip"),
  sort: z.string().optional().describe("comma-separated fields; a leading - sorts descending, e.g. -lastContact,hostname"),
  filter: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("field:op:value with op one of eq, ne, lt, lte, gt, gte, in (values separated by |), search; repeat to combine"),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ results: z.array(item), totalCount: z.number().int() });
}

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.unknown()).optional(),
    }),
  })
  .meta({ id: "Error" });
