import { Option, type Command as CliCommand } from "commander";
import { EXECUTION_STATUSES, type Command, type Execution } from "../../domain/command.js";
import type { Page } from "../../domain/list-query.js";
import { contextOf } from "../context.js";
import { EXECUTION_COLUMNS, renderExecution } from "../execution-view.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";

interface ResultListFlags extends ListFlags {
  command?: string;
  device?: string;
  status?: string;
  run?: string;
}

/** Command results: one execution per device and run. */
export function registerResultCommands(program: CliCommand): void {
  const results = program.command("results").description("Command results: one execution per device and run");

  addListOptions(results.command("list").description("List executions, newest first (without output; see results get)"))
    .option("--command <command>", "only this saved command's (name or id)")
    .option("--device <id>", "only this device's")
    .addOption(new Option("--status <status>", "only executions in this status").choices(EXECUTION_STATUSES))
    .option("--run <run-id>", "only this run's")
    .action(async (flags: ResultListFlags, command: CliCommand) => {
      const { api, print } = contextOf(command);
      // Results are filtered by command id: a name is looked up first (the server takes either there).
      const commandId = flags.command === undefined ? undefined : (await api.get<Command>(`/commands/${encodeURIComponent(flags.command)}`)).id;
      const query = listQuery(flags, { commandId, deviceId: flags.device, status: flags.status, runId: flags.run });
      print(await api.get<Page<Execution>>("/command-results", query), (page) => renderPage(page, EXECUTION_COLUMNS, "results", flags.skip));
    });

  results
    .command("get")
    .description("Show an execution with its output (live while it runs)")
    .argument("<id>", "execution id")
    .action(async (id: string, _flags, command: CliCommand) => {
      const { api, print } = contextOf(command);
      print(await api.get<Execution>(`/command-results/${encodeURIComponent(id)}`), (e) => renderExecution(e));
    });

  results
    .command("cancel")
    .description("Cancel a queued execution, or kill a running one")
    .argument("<id>", "execution id")
    .action(async (id: string, _flags, command: CliCommand) => {
      const { api, print } = contextOf(command);
      const execution = await api.post<Execution>(`/command-results/${encodeURIComponent(id)}/cancel`, {});
      print(execution, (e) =>
        e.status === "canceled" ? `Canceled ${e.id} before it started` : `Asked the agent to stop ${e.id} (${e.status}); it will be reported as canceled`,
      );
    });
}
