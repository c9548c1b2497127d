import type { Role } from "../domain/actor.js";
import { API_KEY_LIST, type ApiKey } from "../domain/api-key.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";

interface Row {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_at: string;
  created_by: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = "id, name, role, prefix, created_at, created_by, last_used_at, revoked_at";

function toApiKey(row: Row): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export interface NewApiKey {
  id: string;
  name: string;
  role: Role;
  keyHash: string;
  prefix: string;
  createdAt: string;
  createdBy: string | null;
}

export class ApiKeyStore {
  constructor(private readonly db: Db) {}

  insert(key: NewApiKey): ApiKey {
    this.db
      .prepare("INSERT INTO api_keys (id, name, role, key_hash, prefix, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(key.id, key.name, key.role, key.keyHash, key.prefix, key.createdAt, key.createdBy);
    return this.get(key.id)!;
  }

  get(id: string): ApiKey | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`).get(id) as Row | undefined;
    return row && toApiKey(row);
  }

  findByHash(hash: string): ApiKey | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ?`).get(hash) as Row | undefined;
    return row && toApiKey(row);
  }

  list(query: ListQuery): Page<ApiKey> {
    return listPage(this.db, "api_keys", COLUMNS, query, API_KEY_LIST, toApiKey);
  }

  revoke(id: string, at: string): boolean {
    return this.db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id).changes > 0;
  }

  /** Recorded at most once a minute per key, so reads do not turn into a write per request. */
  touch(id: string, at: string): void {
    this.db
      .prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")
      .run(at, id, new Date(Date.parse(at) - 60_000).toISOString());
  }

  countActiveAdmins(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL").get() as { n: number }).n;
  }
}
