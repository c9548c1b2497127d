import type { Response } from "express";
import { ImportQuerySchema, ImportResultSchema, TemplateQuerySchema, type ImportResult } from "../../domain/user-import.js";
import type { Services } from "../../services/index.js";
import type { UserImportService } from "../../services/user-import.js";
import { CSV_UPLOAD_TYPES, readCsvUpload } from "../csv-upload.js";
import { ADMINS, READERS, route } from "../route.js";

const CSV = "text/csv; charset=utf-8";

/** CSV import of users (docs/directory.md, "CSV import"). Declared before the users routes, whose `/users/:id` would take "import". */
export function userImportRoutes(s: Services) {
  return [
    route({
      method: "get",
      path: "/api/v1/users/import/template",
      summary: "Download an empty import file: the portal header (firstname,lastname,username,email,password) or, with format=extended, every extended column",
      tag: "users",
      access: READERS,
      query: TemplateQuerySchema,
      responseTypes: ["text/csv"],
      handle: ({ query, res }) => {
        res
          .type(CSV)
          .attachment(query.format === "portal" ? "users.csv" : "users-extended.csv")
          .send(s.userImport.template(query.format));
      },
    }),
    route({
      method: "post",
      path: "/api/v1/users/import",
      summary:
        "Import users from CSV (text/csv body, or one file of a multipart form): per-row results as JSON, or the confirmation CSV with Accept: text/csv. " +
        "422 when an all-or-nothing import wrote nothing because rows failed; 413 past the size or row limit",
      tag: "users",
      access: ADMINS,
      query: ImportQuerySchema,
      uploadTypes: CSV_UPLOAD_TYPES,
      response: ImportResultSchema,
      responseTypes: ["text/csv"],
      handle: async ({ query, ctx, req, res }) => {
        const { maxBytes, maxBytesText } = s.userImport.config;
        const text = await readCsvUpload(req, res, { bytes: maxBytes, text: maxBytesText });
        // A client that gives up while passwords are hashed gets nothing written on its behalf.
        const gone = new AbortController();
        res.once("close", () => gone.abort());
        let result: ImportResult;
        try {
          result = await s.userImport.run(ctx, text, { ...query, signal: gone.signal });
        } catch (error) {
          if (gone.signal.aborted) return void res.end();
          throw error;
        }
        send(res, s.userImport, result, req.accepts(["application/json", "text/csv"]) === "text/csv");
      },
    }),
  ];
}

/** 422 when all-or-nothing refused the file (the body still has every row's result), else 200. */
function send(res: Response, service: UserImportService, result: ImportResult, asCsv: boolean): void {
  res.status(result.error ? 422 : 200);
  if (asCsv) res.type(CSV).attachment("user-import-confirmation.csv").send(service.confirmation(result));
  else res.json(result);
}
