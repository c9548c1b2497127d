import { Option, type Command } from "commander";
import { CliError } from "../../../shared/src/cli/run-cli.js";
import { parseDuration } from "../../../shared/src/duration.js";
import { ExitCode } from "../exit-codes.js";
import { isRunning, readStatus } from "../status.js";
import { loadAgentConfig } from "./config.js";
import { currentExecutable } from "./executable.js";
import { install, startAndWait, uninstall, type Installation } from "./install.js";

const print = (line: string) => process.stdout.write(line + "\n");

function timeoutMs(value: string): number {
  try {
    return parseDuration(value) * 1000;
  } catch (error) {
    throw new CliError(`--timeout: ${(error as Error).message}`, ExitCode.Usage);
  }
}

/**
 * `install`, `uninstall` and `service start|stop|status`. `installation(root)` comes from the composition
 * root (main.ts), which picks this OS's layout and service manager.
 */
export function addServiceCommands(program: Command, installation: (root?: string, packaged?: boolean) => Installation): void {
  const timeout = () => new Option("--timeout <duration>", "how long to wait for the agent to connect (0: do not wait)").default("60s");
  program
    .command("install")
    .description("Install this binary as a service, configure it and start it (again: upgrade or repair)")
    .option("--connect-key <key>", "connect key from the control plane (default: CONNECT_KEY in /etc/default/tether-agent, or the installed one)")
    .option("--display-name <name>", "name shown for this device (default: its hostname)")
    .option("--group <name>", "join this device group at enrollment (repeatable)", (value: string, previous: string[] = []) => [...previous, value])
    .option("--server-url <url>", "reach the control plane at this https:// URL instead of the one in the connect key")
    .option("--image", "prepare a system image: enroll only on machines made from this one, each as a new device")
    .option("--no-start", "write the files only: do not register or start the service")
    .option("--root <dir>", "install under this directory instead of / (packaging, images, tests)")
    .option("--packaged", "run by the deb, rpm or MSI package, which owns the binary and the service definition: configure and start only")
    .addOption(timeout())
    .action(
      async (options: {
        connectKey?: string;
        displayName?: string;
        group?: string[];
        serverUrl?: string;
        image?: boolean;
        start: boolean;
        root?: string;
        packaged?: boolean;
        timeout: string;
      }) => {
        process.exitCode = await install(
          installation(options.root, Boolean(options.packaged)),
          {
            connectKey: options.connectKey,
            displayName: options.displayName,
            groups: options.group,
            serverUrl: options.serverUrl,
            image: Boolean(options.image),
            start: options.start,
            timeoutMs: timeoutMs(options.timeout),
          },
          currentExecutable(),
          print,
        );
      },
    );

  program
    .command("uninstall")
    .description("Stop and remove the service and the binary; with --purge also settings, identity and state")
    .option("--purge", "also remove agent.json, the state directory (identity, journal) and the logs")
    .option("--root <dir>", "uninstall from under this directory instead of /")
    .action(async (options: { purge?: boolean; root?: string }) => {
      await uninstall(installation(options.root), Boolean(options.purge), print);
    });

  const service = program.command("service").description("Control the installed agent's service");
  service
    .command("start")
    .description("Register the service if needed, (re)start it and wait for the agent to connect")
    .addOption(timeout())
    .action(async (options: { timeout: string }) => {
      const target = installation();
      const { config } = await loadAgentConfig(undefined, target.layout);
      process.exitCode = await startAndWait(target, config?.stateDir ?? target.layout.stateDir, timeoutMs(options.timeout), print);
    });
  service
    .command("stop")
    .description("Stop the service (it starts again at the next boot)")
    .action(async () => {
      const target = installation();
      await target.service.stop();
      print(`Stopped ${target.service.serviceName}.`);
    });
  service
    .command("status")
    .description("What the service manager and the agent say (exits 0 when the service runs)")
    .action(async () => {
      const target = installation();
      const { config } = await loadAgentConfig(undefined, target.layout);
      const state = await target.service.state();
      const agent = await readStatus(config?.stateDir ?? target.layout.stateDir);
      const said = agent ? `${agent.state}${agent.detail ? ` — ${agent.detail}` : ""} (since ${agent.since})` : "";
      print(`Service:  ${target.service.serviceName}: ${state.registered ? "" : "not registered, "}${state.detail}`);
      print(`Agent:    ${agent && isRunning(agent.pid) ? said : `not running${agent ? `; it last said: ${said}` : ""}`}`);
      print(`Logs:     ${target.service.logs}`);
      if (!state.running) process.exitCode = ExitCode.Failure;
    });
}
