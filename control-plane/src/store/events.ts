import type { Actor } from "../domain/actor.js";
import { EVENT_LIST, type AuditEvent, type NewAuditEvent } from "../domain/event.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { listPage } from "./page.js";

interface Row {
  id: number;
  at: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  remote_addr: string | null;
  details: string | null;
}

function toEvent(row: Row): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
    action: row.action,
    object: { type: row.object_type, id: row.object_id },
    remoteAddr: row.remote_addr,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
  };
}

/** The audit log: append-only. */
export class EventStore {
  constructor(private readonly db: Db) {}

  append(event: NewAuditEvent, actor: Actor, remoteAddr: string | null, at: string): void {
    this.appendMany([event], actor, remoteAddr, at);
  }

  /** Appends events of one actor with one prepared statement (bulk changes such as a CSV import). */
  appendMany(events: readonly NewAuditEvent[], actor: Actor, remoteAddr: string | null, at: string): void {
    const statement = this.db.prepare(
      "INSERT INTO events (at, actor_type, actor_id, actor_name, action, object_type, object_id, remote_addr, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const actorName = "name" in actor ? actor.name : null;
    for (const event of events) {
      statement.run(at, actor.type, actor.id, actorName, event.action, event.objectType, event.objectId, remoteAddr, event.details ? JSON.stringify(event.details) : null);
    }
  }

  list(query: ListQuery): Page<AuditEvent> {
    return listPage(this.db, "events", "*", query, EVENT_LIST, toEvent);
  }
}
