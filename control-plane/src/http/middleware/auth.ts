import type { Request } from "express";
import type { RequestContext } from "../../domain/actor.js";
import { ForbiddenError, UnauthorizedError } from "../../errors.js";
import type { ApiKeyService } from "../../services/api-keys.js";
import type { Access } from "../route.js";

/** The presented API key: `x-api-key: KEY`, or `Authorization: Bearer KEY`. */
function presentedKey(req: Request): string | undefined {
  const header = req.header("x-api-key");
  if (header) return header.trim();
  const authorization = req.header("authorization");
  const match = authorization?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

/** Resolves the caller and checks the route's access rule; throws 401/403 with the reason. */
export function authorize(req: Request, access: Access, apiKeys: ApiKeyService, now: Date): RequestContext {
  const remoteAddr = req.socket.remoteAddress ?? null;
  if (access === "public") return { actor: { type: "system", id: null }, remoteAddr, now };
  const key = presentedKey(req);
  if (!key) throw new UnauthorizedError();
  const actor = apiKeys.authenticate(key, now);
  if (actor.type !== "api-key" || !access.includes(actor.role)) {
    const role = actor.type === "api-key" ? actor.role : actor.type;
    throw new ForbiddenError(`an API key with role "${role}" may not do this; it needs one of: ${access.join(", ")}`);
  }
  return { actor, remoteAddr, now };
}
