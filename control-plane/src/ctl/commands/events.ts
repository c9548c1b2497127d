import type { Command } from "commander";
import type { AuditEvent } from "../../domain/event.js";
import type { Page } from "../../domain/list-query.js";
import { contextOf } from "../context.js";
import { timestamp } from "../format.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";
import type { Column } from "../table.js";

const EVENT_COLUMNS: readonly Column<AuditEvent>[] = [
  { header: "at", value: (e) => timestamp(e.at) },
  { header: "action", value: (e) => e.action },
  { header: "actor", value: (e) => e.actor.name ?? e.actor.id ?? e.actor.type },
  { header: "object", value: (e) => [e.object.type, e.object.id].filter(Boolean).join(" ") },
  { header: "from", value: (e) => e.remoteAddr },
];

export function registerEventCommands(program: Command): void {
  addListOptions(program.command("events").description("Show the audit log, newest first"))
    .option("--action <action>", "only this action, e.g. device.deleted")
    .option("--object-id <id>", "only events about this object")
    .action(async (flags: ListFlags & { action?: string; objectId?: string }, command: Command) => {
      const { api, print } = contextOf(command);
      const query = listQuery(flags, { action: flags.action, objectId: flags.objectId });
      print(await api.get<Page<AuditEvent>>("/events", query), (page) => renderPage(page, EVENT_COLUMNS, "events", flags.skip));
    });
}
