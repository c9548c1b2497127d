#!/usr/bin/env node
import { Command, Option } from "commander";
import { parseDuration } from "../../shared/src/duration.js";
import { CliError, runCli } from "../../shared/src/cli/run-cli.js";
import { ExitCode } from "./exit-codes.js";
import { IdentityStore } from "./identity/store.js";
import { createAgentLogger } from "./logger.js";
import { platformDriver, resolveStateDir, runAgent } from "./main.js";
import { isRunning, readStatus } from "./status.js";
import { AGENT_VERSION } from "./version.js";

const program = new Command("tether-agent")
  .description("The Tether agent: enrolls this machine with a control plane and keeps it managed.")
  .version(AGENT_VERSION);

const stateDirOption = () => new Option("--state-dir <dir>", "where the identity and state live (default: the OS's standard place)").env("TETHER_STATE_DIR");

program
  .command("run")
  .description("Enroll if needed, then stay connected (this is what the service runs)")
  .addOption(stateDirOption())
  .addOption(new Option("--connect-key <key>", "connect key from the control plane (needed only to enroll)").env("TETHER_CONNECT_KEY"))
  .option("--display-name <name>", "name shown for this device (default: its hostname)")
  .option("--group <name>", "join this device group at enrollment (repeatable)", (value: string, previous: string[] = []) => [...previous, value])
  .addOption(new Option("--inventory-interval <duration>", "how often to re-collect inventory").default("1h").env("TETHER_INVENTORY_INTERVAL"))
  .addOption(new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace"]).default("info").env("TETHER_LOG_LEVEL"))
  .action(async (options: { stateDir?: string; connectKey?: string; displayName?: string; group?: string[]; inventoryInterval: string; logLevel: string }) => {
    let inventoryIntervalMs: number;
    try {
      inventoryIntervalMs = parseDuration(options.inventoryInterval) * 1000;
    } catch (error) {
      throw new CliError(`--inventory-interval: ${(error as Error).message}`, ExitCode.Usage);
    }
    const code = await runAgent({
      stateDir: options.stateDir,
      connectKey: options.connectKey,
      displayName: options.displayName,
      groups: options.group,
      inventoryIntervalMs,
      logger: createAgentLogger(options.logLevel),
    });
    process.exitCode = code;
  });

program
  .command("status")
  .description("Show this machine's identity, server and connection state")
  .addOption(stateDirOption())
  .option("--json", "print JSON")
  .action(async (options: { stateDir?: string; json?: boolean }) => {
    const platform = platformDriver();
    const stateDir = resolveStateDir(options.stateDir, platform);
    const identity = await new IdentityStore(stateDir, platform).load();
    const status = await readStatus(stateDir);
    const running = status ? isRunning(status.pid) : false;
    const state = !identity ? "not enrolled" : running && status ? status.state : "not running";
    if (options.json) {
      const { keyPem: _k, certificatePem: _c, caPem: _ca, ...info } = identity ?? ({} as Record<string, unknown>);
      process.stdout.write(JSON.stringify({ stateDir, enrolled: Boolean(identity), ...info, state, detail: status?.detail ?? null, since: status?.since ?? null }) + "\n");
    } else {
      const lines = [
        `State dir:     ${stateDir}`,
        `Connection:    ${state}${running && status?.detail ? ` — ${status.detail}` : ""}${running && status ? ` (since ${status.since})` : ""}`,
      ];
      if (identity) {
        lines.push(
          `Device id:     ${identity.deviceId}`,
          `Server:        ${identity.serverUrl}`,
          `CA pin:        ${identity.caFingerprint ?? "none (system trust store)"}`,
          `Enrolled at:   ${identity.enrolledAt}`,
          `Cert expires:  ${identity.certificateExpiresAt}`,
        );
      }
      process.stdout.write(lines.join("\n") + "\n");
    }
    if (!identity) process.exitCode = ExitCode.NotEnrolled;
  });

program
  .command("reset-identity")
  .description("Forget this machine's identity (before capturing a system image, or to re-enroll)")
  .addOption(stateDirOption())
  .action(async (options: { stateDir?: string }) => {
    const platform = platformDriver();
    const stateDir = resolveStateDir(options.stateDir, platform);
    const status = await readStatus(stateDir);
    if (status && isRunning(status.pid) && status.pid !== process.pid) {
      throw new CliError(`the agent is running (pid ${status.pid}); stop it first`);
    }
    await new IdentityStore(stateDir, platform).wipe();
    process.stdout.write(`Identity removed from ${stateDir}; the next run enrolls again with a connect key.\n`);
  });

await runCli(program);
