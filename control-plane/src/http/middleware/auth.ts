import type { Request } from "express";
import type { TLSSocket } from "node:tls";
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

export interface Authenticators {
  apiKeys: ApiKeyService;
  /** True when this device id belongs to an enrolled, not deleted device. */
  deviceKnown(deviceId: string): boolean;
}

/** The device named by a verified TLS client certificate, for routes agents call over HTTPS. */
function agentActor(req: Request, deviceKnown: (id: string) => boolean): RequestContext["actor"] {
  const socket = req.socket as TLSSocket;
  const cn = socket.authorized && typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate().subject?.CN : undefined;
  const deviceId = Array.isArray(cn) ? cn[0] : cn;
  if (!deviceId) throw new UnauthorizedError("this endpoint needs the device's client certificate", "client_certificate_required");
  if (!deviceKnown(deviceId)) throw new ForbiddenError("this device is not enrolled (or was deleted)", "device_revoked");
  return { type: "agent", id: deviceId };
}

/** Resolves the caller and checks the route's access rule; throws 401/403 with the reason. */
export function authorize(req: Request, access: Access, auth: Authenticators, now: Date): RequestContext {
  const remoteAddr = req.socket.remoteAddress ?? null;
  if (access === "public") return { actor: { type: "system", id: null }, remoteAddr, now };
  if (access === "agent") return { actor: agentActor(req, auth.deviceKnown), remoteAddr, now };
  const apiKeys = auth.apiKeys;
  const key = presentedKey(req);
  if (!key) throw new UnauthorizedError();
  const actor = apiKeys.authenticate(key, now);
  if (actor.type !== "api-key" || !access.includes(actor.role)) {
    const role = actor.type === "api-key" ? actor.role : actor.type;
    throw new ForbiddenError(`an API key with role "${role}" may not do this; it needs one of: ${access.join(", ")}`);
  }
  return { actor, remoteAddr, now };
}
