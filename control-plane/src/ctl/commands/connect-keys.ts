import type { Command } from "commander";
import type { ConnectKeyInfo } from "../../domain/connect-key.js";
import type { Page } from "../../domain/list-query.js";
import { durationSeconds, wholeNumber } from "../command.js";
import { contextOf } from "../context.js";
import { relativeTime } from "../format.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";
import type { Column } from "../table.js";

type CreatedConnectKey = ConnectKeyInfo & { connectKey: string };

const CONNECT_KEY_COLUMNS: readonly Column<ConnectKeyInfo>[] = [
  { header: "id", value: (k) => k.id },
  { header: "name", value: (k) => k.name },
  { header: "state", value: (k) => k.state },
  { header: "uses", value: (k) => (k.maxUses === null ? k.uses : `${k.uses}/${k.maxUses}`), align: "right" },
  { header: "expires", value: (k) => (k.expiresAt ? relativeTime(k.expiresAt) : "never") },
  { header: "created", value: (k) => relativeTime(k.createdAt) },
  { header: "last used", value: (k) => relativeTime(k.lastUsedAt) },
];

export function registerConnectKeyCommands(program: Command): void {
  const keys = program.command("connect-keys").description("Keys that enroll agents; each pins this control plane's CA");

  addListOptions(keys.command("list").description("List connect keys")).action(async (flags: ListFlags, command: Command) => {
    const { api, print } = contextOf(command);
    print(await api.get<Page<ConnectKeyInfo>>("/connect-keys", listQuery(flags)), (page) => renderPage(page, CONNECT_KEY_COLUMNS, "connect keys", flags.skip));
  });

  keys
    .command("create")
    .description("Create a connect key; its token is shown only once")
    .argument("<name>", "what the key is for, e.g. office-laptops")
    .option("--expires-in <duration>", "stop accepting enrollments after this long, e.g. 1h or 7d (default: never)", durationSeconds)
    .option("--max-uses <n>", "accept at most this many enrollments (default: any number)", wholeNumber(1))
    .action(async (name: string, flags: { expiresIn?: number; maxUses?: number }, command: Command) => {
      const { api, print } = contextOf(command);
      const created = await api.post<CreatedConnectKey>("/connect-keys", {
        name,
        ...(flags.expiresIn === undefined ? {} : { expiresInSeconds: flags.expiresIn }),
        ...(flags.maxUses === undefined ? {} : { maxUses: flags.maxUses }),
      });
      print(created, (k) => `Created connect key ${k.name} (${k.id}). The token, shown only now:\n\n  ${k.connectKey}`);
    });

  keys
    .command("revoke")
    .description("Revoke a connect key; devices it enrolled stay enrolled")
    .argument("<id>", "connect key id")
    .action(async (id: string, _flags, command: Command) => {
      const { api, print } = contextOf(command);
      print(await api.delete<ConnectKeyInfo>(`/connect-keys/${encodeURIComponent(id)}`), (k) => `Revoked connect key ${k.name} (${k.id})`);
    });
}
