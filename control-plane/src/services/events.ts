import type { AuditEvent } from "../domain/event.js";
import type { ListQuery, Page } from "../domain/list-query.js";
import type { Stores } from "../store/index.js";

export class EventService {
  constructor(private readonly stores: Stores) {}

  list(query: ListQuery): Page<AuditEvent> {
    return this.stores.events.list(query);
  }
}
