import type { RequestContext } from "../domain/actor.js";
import type { NewAuditEvent } from "../domain/event.js";
import type { EventStore } from "../store/events.js";

/** Writes one audit event for a request; called inside the same transaction as the change. */
export function audit(events: EventStore, ctx: RequestContext, event: NewAuditEvent): void {
  events.append(event, ctx.actor, ctx.remoteAddr, ctx.now.toISOString());
}

/** Writes many audit events of one request with one statement (bulk changes such as a CSV import). */
export function auditMany(events: EventStore, ctx: RequestContext, list: readonly NewAuditEvent[]): void {
  events.appendMany(list, ctx.actor, ctx.remoteAddr, ctx.now.toISOString());
}
