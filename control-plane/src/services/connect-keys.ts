import { encodeConnectKey } from "../../../shared/src/connect-key.js";
import type { RequestContext } from "../domain/actor.js";
import type { ConnectKeyInfo } from "../domain/connect-key.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { AppError, NotFoundError, UnauthorizedError, ValidationError } from "../errors.js";
import { newId, newSecret } from "../ids.js";
import type { ConnectKeyRecord } from "../store/connect-keys.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import { hashSecret } from "./hashing.js";
import type { ServerIdentity } from "./ports.js";

export type CreatedConnectKey = ConnectKeyInfo & { connectKey: string };

export interface CreateConnectKeyInput {
  name: string;
  expiresAt?: string | undefined;
  expiresInSeconds?: number | undefined;
  maxUses?: number | undefined;
}

function stateOf(key: ConnectKeyRecord, now: Date): ConnectKeyInfo["state"] {
  if (key.revokedAt) return "revoked";
  if (key.expiresAt && Date.parse(key.expiresAt) <= now.getTime()) return "expired";
  if (key.maxUses !== null && key.uses >= key.maxUses) return "used_up";
  return "active";
}

export class ConnectKeyService {
  constructor(
    private readonly stores: Stores,
    private readonly server: () => ServerIdentity,
  ) {}

  create(ctx: RequestContext, input: CreateConnectKeyInput): CreatedConnectKey {
    const expiresAt = input.expiresAt
      ? new Date(input.expiresAt)
      : input.expiresInSeconds
        ? new Date(ctx.now.getTime() + input.expiresInSeconds * 1000)
        : null;
    if (expiresAt && expiresAt.getTime() <= ctx.now.getTime()) throw ValidationError.field("expiresAt", "must be in the future");
    const secret = newSecret();
    const identity = this.server();
    const record = this.stores.transaction(() => {
      const created = this.stores.connectKeys.insert({
        id: newId("ck", ctx.now.getTime()),
        name: input.name,
        secretHash: hashSecret(secret),
        createdAt: ctx.now.toISOString(),
        createdBy: ctx.actor.id,
        expiresAt: expiresAt?.toISOString() ?? null,
        maxUses: input.maxUses ?? null,
      });
      audit(this.stores.events, ctx, {
        action: "connect-key.created",
        objectType: "connect-key",
        objectId: created.id,
        details: { name: input.name, expiresAt: created.expiresAt, maxUses: created.maxUses },
      });
      return created;
    });
    const connectKey = encodeConnectKey({ url: identity.publicUrl, caFingerprint: identity.caFingerprint, secret });
    return { ...record, state: stateOf(record, ctx.now), connectKey };
  }

  list(query: ListQuery, now: Date): Page<ConnectKeyInfo> {
    const page = this.stores.connectKeys.list(query);
    return { ...page, results: page.results.map((k) => ({ ...k, state: stateOf(k, now) })) };
  }

  get(id: string, now: Date): ConnectKeyInfo {
    const key = this.stores.connectKeys.get(id);
    if (!key) throw new NotFoundError("connect key", id);
    return { ...key, state: stateOf(key, now) };
  }

  revoke(ctx: RequestContext, id: string): ConnectKeyInfo {
    return this.stores.transaction(() => {
      const key = this.get(id, ctx.now);
      if (!key.revokedAt) {
        this.stores.connectKeys.revoke(id, ctx.now.toISOString());
        audit(this.stores.events, ctx, { action: "connect-key.revoked", objectType: "connect-key", objectId: id });
      }
      return this.get(id, ctx.now);
    });
  }

  /**
   * Counts one use of the key, or throws the reason it cannot be used. Call inside the enrollment's
   * transaction so that a failed enrollment does not use the key up.
   */
  consume(secret: string, now: Date): ConnectKeyRecord {
    const key = this.stores.connectKeys.findBySecretHash(hashSecret(secret));
    if (!key) throw new UnauthorizedError("the connect key is not known to this control plane", "invalid_connect_key");
    const state = stateOf(key, now);
    if (state === "revoked") throw new AppError(403, "connect_key_revoked", `the connect key "${key.name}" was revoked at ${key.revokedAt}`);
    if (state === "expired") throw new AppError(403, "connect_key_expired", `the connect key "${key.name}" expired at ${key.expiresAt}`);
    if (state === "used_up" || !this.stores.connectKeys.consume(key.id, now.toISOString())) {
      throw new AppError(403, "connect_key_used_up", `the connect key "${key.name}" has been used its maximum of ${key.maxUses} times`);
    }
    return key;
  }
}
