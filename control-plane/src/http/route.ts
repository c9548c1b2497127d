import type { Request, Response } from "express";
import type { z } from "zod";
import type { RequestContext, Role } from "../domain/actor.js";

/** Who may call a route: anyone, an enrolled agent (TLS client certificate), or API keys with one of these roles. */
export type Access = "public" | "agent" | readonly Role[];

export const READERS: readonly Role[] = ["admin", "read-only"];
export const ADMINS: readonly Role[] = ["admin"];
/** Routes a command-runner key may also use; the service narrows what it sees to its own commands. */
export const COMMAND_READERS: readonly Role[] = ["admin", "read-only", "command-runner"];
export const COMMAND_RUNNERS: readonly Role[] = ["admin", "command-runner"];

type Schema = z.ZodType;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface HandlerInput<P, Q, B> {
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
  ctx: RequestContext;
  req: Request;
  res: Response;
}

/**
 * One REST endpoint, declared once: the same declaration registers the Express handler (parse,
 * authorize, validate, call a service, shape the reply) and its entry in the OpenAPI document.
 */
export interface RouteDef<P extends Schema | undefined = Schema | undefined, Q extends Schema | undefined = Schema | undefined, B extends Schema | undefined = Schema | undefined> {
  method: "get" | "post" | "patch" | "put" | "delete";
  /** Express-style path, e.g. `/api/v1/devices/:id`. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** Response body schema; absent for 204 responses. */
  response?: Schema;
  /** Success status; 200 by default. */
  status?: number;
  /** The body is raw bytes of this content type (req.body is a Buffer), up to the file limit. */
  rawBody?: string;
  /**
   * The body is a file in one of these content types, which the handler reads itself (after
   * authorization; the JSON parser leaves them alone). Only documents them in OpenAPI.
   */
  uploadTypes?: readonly string[];
  /** Content types the handler may answer with instead of JSON (by Accept), for OpenAPI; the handler sends those itself. */
  responseTypes?: readonly string[];
  handle(input: HandlerInput<P, Q, B>): unknown;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any>;

/** Declares a route with its handler's input typed from its schemas. */
export function route<P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined>(
  def: RouteDef<P, Q, B>,
): AnyRoute {
  return def as AnyRoute;
}
