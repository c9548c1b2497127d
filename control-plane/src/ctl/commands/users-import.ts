import { readFileSync } from "node:fs";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { CliError } from "../../../../shared/src/cli/run-cli.js";
import type { ImportResult } from "../../domain/user-import.js";
import { describeHttpError } from "../api-client.js";
import { usageError } from "../command.js";
import { contextOf, globalFlags } from "../context.js";
import { bytes } from "../format.js";
import { renderTable } from "../table.js";

interface ImportFlags {
  dryRun?: boolean;
  bestEffort?: boolean;
  template?: boolean;
  extended?: boolean;
}

/** Uploads smaller than this go without a bar: they are gone before one would show. */
const BAR_FROM_BYTES = 1024 * 1024;

export function registerUserImportCommand(users: Command): void {
  users
    .command("import")
    .description("Import users from a CSV file in JumpCloud's portal or extended format (docs/directory.md); exits 1 if any row failed")
    .argument("[file]", "the CSV file, or - for standard input")
    .option("--dry-run", "check every row against the directory and report; write nothing")
    .option("--best-effort", "import the good rows even when others fail (default: all or nothing)")
    .option("--template", "print an empty import file instead, e.g. tetherctl users import --template > users.csv")
    .option("--extended", "with --template: every column of the extended format")
    .action(async (file: string | undefined, flags: ImportFlags, command: Command) => {
      if (flags.template) return template(command, file, flags);
      if (flags.extended) throw usageError("--extended goes with --template");
      if (file === undefined) throw usageError("give the CSV file to import (or - for standard input), or --template for an empty one");
      const { api, print } = contextOf(command);
      const content = readCsv(file);
      const query = new URLSearchParams({ ...(flags.dryRun ? { dryRun: "true" } : {}), ...(flags.bestEffort ? { mode: "best-effort" } : {}) });
      const progress = uploadProgress(content.length, Boolean(globalFlags(command).json));
      let response;
      try {
        response = await api.importCsv<ImportResult>("/users/import", query, content, progress.update);
      } finally {
        progress.stop();
      }
      const result = response.body;
      // 422 (all-or-nothing refused the file) still carries every row; other errors carry only a message.
      if (!result || !Array.isArray(result.rows)) throw new CliError(describeHttpError(response));
      print(result, renderImport);
      if (result.totals.failed > 0) throw new CliError(`${result.totals.failed} of ${result.totals.rows} rows failed`);
    });
}

async function template(command: Command, file: string | undefined, flags: ImportFlags): Promise<void> {
  if (file !== undefined || flags.dryRun || flags.bestEffort) throw usageError("--template takes no file, --dry-run or --best-effort: it prints an empty import file");
  const { api } = contextOf(command);
  const query = new URLSearchParams(flags.extended ? { format: "extended" } : {});
  process.stdout.write(await api.download("/users/import/template", query, "text/csv"));
}

function readCsv(file: string): Buffer {
  try {
    return readFileSync(file === "-" ? 0 : file);
  } catch (error) {
    throw usageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** A bar on stderr while a large file goes up (terminals only), then a line while the server works. */
function uploadProgress(size: number, json: boolean): { update?: (sent: number, total: number) => void; stop(): void } {
  const stream = process.stderr;
  if (!stream.isTTY || json || size < BAR_FROM_BYTES) return { stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream, format: "Uploading {bar} {percentage}% | {sent} of {size}", barsize: 30, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(size, 0, { sent: bytes(0), size: bytes(size) });
  let running = true;
  return {
    update(sent) {
      if (!running) return;
      bar.update(sent, { sent: bytes(sent) });
      if (sent >= size) {
        running = false;
        bar.stop();
        stream.write("Uploaded; waiting for the server to check the rows…\n");
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** The summary: what was (or would be) imported, then one line per problem of each failed row. */
export function renderImport(result: ImportResult): string {
  const { rows, created, wouldCreate, failed, staged } = result.totals;
  const stagedNote = staged > 0 ? `, ${staged} of them staged (no password: send them activation links)` : "";
  const links = linkCounts(result);
  let headline: string;
  if (result.dryRun) headline = `Dry run (${result.format} format): ${wouldCreate} of ${rows} rows would be imported${stagedNote}; ${failed} failed.`;
  else if (result.committed) headline = `Imported ${created} of ${rows} rows (${result.format} format)${stagedNote}${links}${failed > 0 ? `; ${failed} failed` : ""}.`;
  else if (result.mode === "all-or-nothing") headline = `Nothing imported: ${failed} of ${rows} rows failed (all-or-nothing). Fix them and import again, or import the other rows with --best-effort.`;
  else headline = `Nothing imported: all ${rows} rows failed.`;
  const problems = result.rows.flatMap((row) => row.errors.map((error) => ({ row: row.row, username: row.username, field: error.field, message: error.message })));
  if (problems.length === 0) return headline;
  const table = renderTable(problems, [
    { header: "row", value: (p) => p.row, align: "right" },
    { header: "username", value: (p) => p.username },
    { header: "column", value: (p) => p.field },
    { header: "problem", value: (p) => p.message },
  ]);
  return `${headline}\n\n${table}`;
}

function linkCounts(result: ImportResult): string {
  const memberships = result.rows.reduce((n, row) => n + row.groups.filter((g) => g.status === "added").length, 0);
  const bindings = result.rows.reduce((n, row) => n + row.devices.filter((d) => d.status === "added").length, 0);
  const parts = [memberships > 0 ? `${memberships} group memberships` : "", bindings > 0 ? `${bindings} device bindings` : ""].filter(Boolean);
  return parts.length > 0 ? `, with ${parts.join(" and ")}` : "";
}
