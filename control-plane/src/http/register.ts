import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { AppError, PayloadTooLargeError } from "../errors.js";
import { authorize, type Authenticators } from "./middleware/auth.js";
import { fromZod } from "./middleware/errors.js";
import type { AnyRoute } from "./route.js";

/** Registers each declared route: authorize, validate params/query/body, run, reply. */
export function registerRoutes(app: Express, routes: readonly AnyRoute[], auth: Authenticators, fileLimit: string): void {
  for (const def of routes) {
    const raw = def.rawBody ? express.raw({ type: def.rawBody, limit: fileLimit }) : undefined;
    app[def.method](def.path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const ctx = authorize(req, def.access, auth, new Date());
        // Uploads are read only once the caller is known, so nobody unauthenticated can make the
        // server buffer a large body.
        if (raw) {
          await readRawBody(raw, req, res, fileLimit);
          if (!Buffer.isBuffer(req.body)) throw new AppError(415, "unsupported_media_type", `send the file as ${def.rawBody}`);
        }
        const params = parse(def.params, req.params, "params");
        const query = parse(def.query, req.query, "query");
        // req.is() is null when there is no body at all (zod then reports the missing body) and false
        // when there is one of another type; an empty body is no body, whatever its headers say.
        if (def.body && req.headers["content-length"] !== "0" && req.is("application/json") === false) {
          throw new AppError(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json");
        }
        const body = parse(def.body, req.body, "body");
        const result = await def.handle({ params, query, body, ctx, req, res });
        if (res.headersSent) return;
        if (def.response === undefined) res.status(def.status ?? 204).end();
        else res.status(def.status ?? 200).json(result);
      } catch (error) {
        next(error);
      }
    });
  }
}

function readRawBody(parser: express.RequestHandler, req: Request, res: Response, limit: string): Promise<void> {
  return new Promise((resolve, reject) =>
    parser(req, res, (error?: unknown) => {
      // A file past the limit is refused naming the file limit, not the JSON body limit.
      if ((error as { type?: string } | undefined)?.type === "entity.too.large") reject(new PayloadTooLargeError(limit));
      else if (error) reject(error);
      else resolve();
    }),
  );
}

function parse(schema: AnyRoute["body"], value: unknown, where: "body" | "query" | "params"): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw fromZod(result.error, where);
  return result.data;
}
