#!/usr/bin/env node
import { runCli } from "../../../shared/src/cli/run-cli.js";
import { SERVER_VERSION } from "../version.js";
import { CtlCommand } from "./command.js";
import { registerApiKeyCommands } from "./commands/api-keys.js";
import { registerCommandCommands } from "./commands/commands.js";
import { registerConnectKeyCommands } from "./commands/connect-keys.js";
import { registerDeviceGroupCommands } from "./commands/device-groups.js";
import { registerDeviceCommands } from "./commands/devices.js";
import { registerEventCommands } from "./commands/events.js";
import { registerInstallCommand } from "./commands/install-command.js";
import { registerResultCommands } from "./commands/results.js";
import { registerRunCommand } from "./commands/run.js";
import { registerSessionCommands } from "./commands/session.js";
import { registerUserCommands } from "./commands/users.js";

/**
 * tetherctl: the admin CLI, a plain client of the REST API. It never touches the control plane's
 * store, so it works the same from an admin's laptop as on the server itself.
 */
const program = new CtlCommand("tetherctl")
  .description("Manage a Tether control plane over its REST API")
  .version(SERVER_VERSION)
  .option("--url <url>", "the control plane, e.g. https://tether.example.com:8443 (env TETHER_URL)")
  .option("--api-key <key>", "the API key to use (env TETHER_API_KEY)")
  .option("--ca-file <file>", "PEM of the CA to trust for the server (env TETHER_CA_FILE)")
  .option("--json", "print the server's JSON response as it came, for scripts")
  // Set before the subcommands exist: commander copies help settings into each one as it is made.
  .configureHelp({ showGlobalOptions: true });

registerSessionCommands(program);
registerDeviceCommands(program);
registerDeviceGroupCommands(program);
registerUserCommands(program);
registerCommandCommands(program);
registerRunCommand(program);
registerResultCommands(program);
registerEventCommands(program);
registerApiKeyCommands(program);
registerConnectKeyCommands(program);
registerInstallCommand(program);

await runCli(program);
