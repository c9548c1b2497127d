import { BINDING_LIST, type Binding, type ObjectType, type SubjectType } from "../domain/binding.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Sudo } from "../domain/user-group.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";

export interface BindingRow {
  subject_type: SubjectType;
  subject_id: string;
  object_type: ObjectType;
  object_id: string;
  sudo_enabled: number | null;
  sudo_without_password: number;
  created_at: string;
}

/** The sudo a binding row says: null when it says nothing. */
export function sudoOf(row: Pick<BindingRow, "sudo_enabled" | "sudo_without_password">): Sudo | null {
  if (row.sudo_enabled === null) return null;
  return { enabled: row.sudo_enabled === 1, withoutPassword: row.sudo_enabled === 1 && row.sudo_without_password === 1 };
}

function toBinding(row: BindingRow): Binding {
  return {
    subject: { type: row.subject_type, id: row.subject_id },
    object: { type: row.object_type, id: row.object_id },
    sudo: sudoOf(row),
    createdAt: row.created_at,
  };
}

export interface Edge {
  subjectType: SubjectType;
  subjectId: string;
  objectType: ObjectType;
  objectId: string;
}

const KEY = "subject_type = ? AND subject_id = ? AND object_type = ? AND object_id = ?";
const keyOf = (edge: Edge) => [edge.subjectType, edge.subjectId, edge.objectType, edge.objectId];

export class BindingStore {
  constructor(private readonly db: Db) {}

  get(edge: Edge): Binding | undefined {
    const row = this.db.prepare(`SELECT * FROM bindings WHERE ${KEY}`).get(...keyOf(edge)) as BindingRow | undefined;
    return row && toBinding(row);
  }

  /** Adds the edge, or sets the sudo of the one already there. */
  put(edge: Edge, sudo: Sudo | null, at: string): Binding {
    this.db
      .prepare(
        `INSERT INTO bindings (subject_type, subject_id, object_type, object_id, sudo_enabled, sudo_without_password, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (subject_type, subject_id, object_type, object_id)
         DO UPDATE SET sudo_enabled = excluded.sudo_enabled, sudo_without_password = excluded.sudo_without_password`,
      )
      .run(...keyOf(edge), sudo === null ? null : sudo.enabled ? 1 : 0, sudo?.enabled && sudo.withoutPassword ? 1 : 0, at);
    return this.get(edge)!;
  }

  delete(edge: Edge): boolean {
    return this.db.prepare(`DELETE FROM bindings WHERE ${KEY}`).run(...keyOf(edge)).changes > 0;
  }

  /** Removes every edge of these (deleted) users. */
  deleteOfUsers(userIds: readonly string[]): void {
    this.db.prepare("DELETE FROM bindings WHERE subject_type = 'user' AND subject_id IN (SELECT value FROM json_each(?))").run(JSON.stringify(userIds));
  }

  list(query: ListQuery): Page<Binding> {
    return listPage(this.db, "bindings", "*", query, BINDING_LIST, toBinding);
  }
}
