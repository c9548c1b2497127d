import type { Command } from "commander";
import type { Page } from "../domain/list-query.js";
import { wholeNumber } from "./command.js";
import { renderTable, type Column } from "./table.js";

/** The paging, sorting and filtering flags every list command takes. */
export interface ListFlags {
  filter?: string[];
  sort?: string;
  limit?: number;
  skip?: number;
}

export function addListOptions(command: Command): Command {
  return command
    .option("--filter <field:op:value>", "filter, e.g. hostname:search:web (repeat to combine)", (value: string, previous: string[] = []) => [...previous, value])
    .option("--sort <fields>", "comma-separated fields; a leading - sorts descending, e.g. -createdAt")
    .option("--limit <n>", "at most this many results (server default 100, at most 1000)", wholeNumber(1))
    .option("--skip <n>", "skip this many results", wholeNumber(0));
}

/**
 * The list query string. Shortcut flags (`--status online`) become exact-match filters
 * (`status:eq:online`) ahead of any `--filter`; the server combines them all with AND.
 */
export function listQuery(flags: ListFlags, shortcuts: Record<string, string | undefined> = {}): URLSearchParams {
  const query = new URLSearchParams();
  for (const [field, value] of Object.entries(shortcuts)) {
    if (value !== undefined) query.append("filter", `${field}:eq:${value}`);
  }
  for (const filter of flags.filter ?? []) query.append("filter", filter);
  if (flags.sort !== undefined) query.set("sort", flags.sort);
  if (flags.limit !== undefined) query.set("limit", String(flags.limit));
  if (flags.skip !== undefined) query.set("skip", String(flags.skip));
  return query;
}

/** A page as a table, saying so when there is more than it shows. */
export function renderPage<T>(page: Page<T>, columns: readonly Column<T>[], noun: string, skip = 0): string {
  if (page.results.length === 0) {
    return page.totalCount > 0 ? `No ${noun} after skipping ${skip} (there are ${page.totalCount}).` : `No ${noun}.`;
  }
  const table = renderTable(page.results, columns);
  const shown = skip + page.results.length;
  if (shown >= page.totalCount) return table;
  return `${table}\n(${skip + 1}–${shown} of ${page.totalCount}; use --skip ${shown} for more)`;
}
