import type { Command } from "commander";
import { ConnectKeyFormatError, decodeConnectKey } from "../../../../shared/src/connect-key.js";
import type { InstallCommands } from "../../domain/downloads.js";
import { usageError } from "../command.js";
import { contextOf } from "../context.js";

export function registerInstallCommand(program: Command): void {
  program
    .command("install-command")
    .description("Print the one-line commands that install the agent on Linux, macOS and Windows")
    .option("--connect-key <key>", "put this connect key in the commands (default: the placeholder CONNECT_KEY)")
    .action(async (flags: { connectKey?: string }, command: Command) => {
      const key = flags.connectKey?.trim();
      if (key !== undefined) {
        try {
          decodeConnectKey(key);
        } catch (error) {
          if (error instanceof ConnectKeyFormatError) throw usageError(`--connect-key: ${error.message}`);
          throw error;
        }
      }
      const { api, print } = contextOf(command);
      const commands = await api.get<InstallCommands>("/install-commands");
      // With --json too: whoever asked for the key to be filled in wants it filled in.
      const shown = key === undefined ? commands : withKey(commands, key);
      print(shown, (c) => render(c, key === undefined));
    });
}

function withKey(commands: InstallCommands, key: string): InstallCommands {
  const fill = (text: string) => text.replaceAll(commands.connectKeyPlaceholder, key);
  return { ...commands, linux: fill(commands.linux), windows: fill(commands.windows) };
}

function render(c: InstallCommands, placeholder: boolean): string {
  const notes = [
    ...(placeholder ? [`Put a connect key in place of ${c.connectKeyPlaceholder} (tetherctl connect-keys create NAME makes one), or pass --connect-key.`] : []),
    ...(c.pinnedPublicKey ? [`The commands trust ${c.url} by its public key (${c.pinnedPublicKey}): if the server's key changes, get them again.`] : []),
  ];
  return [
    "Linux and macOS, as root or with sudo:",
    "",
    `  ${c.linux}`,
    "",
    "Windows, in PowerShell opened as Administrator:",
    "",
    `  ${c.windows}`,
    ...(notes.length > 0 ? ["", ...notes] : []),
  ].join("\n");
}
