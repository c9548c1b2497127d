import type { Actor, RequestContext } from "../domain/actor.js";
import { API_KEY_PREFIX, type ApiKey } from "../domain/api-key.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import { ConflictError, NotFoundError, UnauthorizedError } from "../errors.js";
import { newId, newSecret } from "../ids.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import { hashSecret } from "./hashing.js";

export type CreatedApiKey = ApiKey & { key: string };

export class ApiKeyService {
  constructor(private readonly stores: Stores) {}

  create(ctx: RequestContext, input: { name: string; role: ApiKey["role"] }): CreatedApiKey {
    const key = API_KEY_PREFIX + newSecret();
    const record = this.stores.transaction(() => {
      const created = this.stores.apiKeys.insert({
        id: newId("key", ctx.now.getTime()),
        name: input.name,
        role: input.role,
        keyHash: hashSecret(key),
        prefix: key.slice(0, API_KEY_PREFIX.length + 6),
        createdAt: ctx.now.toISOString(),
        createdBy: ctx.actor.id,
      });
      audit(this.stores.events, ctx, { action: "api-key.created", objectType: "api-key", objectId: created.id, details: { name: input.name, role: input.role } });
      return created;
    });
    return { ...record, key };
  }

  list(query: ListQuery): Page<ApiKey> {
    return this.stores.apiKeys.list(query);
  }

  get(id: string): ApiKey {
    const key = this.stores.apiKeys.get(id);
    if (!key) throw new NotFoundError("API key", id);
    return key;
  }

  /** Revoking is permanent. The last admin key cannot be revoked: nobody could create another. */
  revoke(ctx: RequestContext, id: string): ApiKey {
    return this.stores.transaction(() => {
      const key = this.get(id);
      if (key.revokedAt) return key;
      if (key.role === "admin" && this.stores.apiKeys.countActiveAdmins() <= 1) {
        throw new ConflictError("this is the last active admin key; create another admin key before revoking it");
      }
      this.stores.apiKeys.revoke(id, ctx.now.toISOString());
      audit(this.stores.events, ctx, { action: "api-key.revoked", objectType: "api-key", objectId: id });
      return this.get(id);
    });
  }

  /** Resolves a presented key to its actor, or throws 401 saying what is wrong with it. */
  authenticate(presented: string, now: Date): Actor {
    if (!presented.startsWith(API_KEY_PREFIX)) {
      throw new UnauthorizedError(`that is not an API key (API keys start with "${API_KEY_PREFIX}")`, "invalid_api_key");
    }
    const key = this.stores.apiKeys.findByHash(hashSecret(presented));
    if (!key) throw new UnauthorizedError("the API key is not known to this server", "invalid_api_key");
    if (key.revokedAt) throw new UnauthorizedError(`the API key "${key.name}" was revoked at ${key.revokedAt}`, "api_key_revoked");
    this.stores.apiKeys.touch(key.id, now.toISOString());
    return { type: "api-key", id: key.id, name: key.name, role: key.role };
  }
}
