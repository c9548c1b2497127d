import { CONNECT_KEY_LIST, type ConnectKeyInfo } from "../domain/connect-key.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";

interface Row {
  id: string;
  name: string;
  created_at: string;
  created_by: string | null;
  expires_at: string | null;
  max_uses: number | null;
  uses: number;
  last_used_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = "id, name, created_at, created_by, expires_at, max_uses, uses, last_used_at, revoked_at";

export type ConnectKeyRecord = Omit<ConnectKeyInfo, "state">;

function toRecord(row: Row): ConnectKeyRecord {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    maxUses: row.max_uses,
    uses: row.uses,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export interface NewConnectKey {
  id: string;
  name: string;
  secretHash: string;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  maxUses: number | null;
}

export class ConnectKeyStore {
  constructor(private readonly db: Db) {}

  insert(key: NewConnectKey): ConnectKeyRecord {
    this.db
      .prepare(
        "INSERT INTO connect_keys (id, name, secret_hash, created_at, created_by, expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(key.id, key.name, key.secretHash, key.createdAt, key.createdBy, key.expiresAt, key.maxUses);
    return this.get(key.id)!;
  }

  get(id: string): ConnectKeyRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM connect_keys WHERE id = ?`).get(id) as Row | undefined;
    return row && toRecord(row);
  }

  findBySecretHash(hash: string): ConnectKeyRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM connect_keys WHERE secret_hash = ?`).get(hash) as Row | undefined;
    return row && toRecord(row);
  }

  list(query: ListQuery): Page<ConnectKeyRecord> {
    return listPage(this.db, "connect_keys", COLUMNS, query, CONNECT_KEY_LIST, toRecord);
  }

  revoke(id: string, at: string): boolean {
    return this.db.prepare("UPDATE connect_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id).changes > 0;
  }

  /** Counts one enrollment; false when the key reached max_uses meanwhile (checked in the same statement). */
  consume(id: string, at: string): boolean {
    return (
      this.db
        .prepare("UPDATE connect_keys SET uses = uses + 1, last_used_at = ? WHERE id = ? AND (max_uses IS NULL OR uses < max_uses)")
        .run(at, id).changes > 0
    );
  }
}
