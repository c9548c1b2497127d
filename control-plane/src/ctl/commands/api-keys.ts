import { Option, type Command } from "commander";
import { ROLES } from "../../domain/actor.js";
import type { ApiKey } from "../../domain/api-key.js";
import type { Page } from "../../domain/list-query.js";
import { contextOf } from "../context.js";
import { relativeTime } from "../format.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";
import type { Column } from "../table.js";

type CreatedApiKey = ApiKey & { key: string };

const API_KEY_COLUMNS: readonly Column<ApiKey>[] = [
  { header: "id", value: (k) => k.id },
  { header: "name", value: (k) => k.name },
  { header: "role", value: (k) => k.role },
  { header: "prefix", value: (k) => k.prefix },
  { header: "created", value: (k) => relativeTime(k.createdAt) },
  { header: "last used", value: (k) => relativeTime(k.lastUsedAt) },
  { header: "revoked", value: (k) => relativeTime(k.revokedAt) },
];

export function registerApiKeyCommands(program: Command): void {
  const keys = program.command("api-keys").description("API keys for admins and scripts (admin role only)");

  addListOptions(keys.command("list").description("List API keys")).action(async (flags: ListFlags, command: Command) => {
    const { api, print } = contextOf(command);
    print(await api.get<Page<ApiKey>>("/api-keys", listQuery(flags)), (page) => renderPage(page, API_KEY_COLUMNS, "API keys", flags.skip));
  });

  keys
    .command("create")
    .description("Create an API key; the key is shown only once")
    .argument("<name>", "what or who the key is for")
    .addOption(new Option("--role <role>", "what the key may do").choices(ROLES).makeOptionMandatory())
    .action(async (name: string, flags: { role: string }, command: Command) => {
      const { api, print } = contextOf(command);
      const created = await api.post<CreatedApiKey>("/api-keys", { name, role: flags.role });
      print(created, (k) => `Created API key ${k.name} (${k.id}, role ${k.role}). The key, shown only now:\n\n  ${k.key}`);
    });

  keys
    .command("revoke")
    .description("Revoke an API key (permanent)")
    .argument("<id>", "API key id")
    .action(async (id: string, _flags, command: Command) => {
      const { api, print } = contextOf(command);
      print(await api.delete<ApiKey>(`/api-keys/${encodeURIComponent(id)}`), (k) => `Revoked API key ${k.name} (${k.id})`);
    });
}
