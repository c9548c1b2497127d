#!/usr/bin/env node
import { Command, Option } from "commander";
import { parseDuration } from "../../shared/src/duration.js";
import { CliError, runCli } from "../../shared/src/cli/run-cli.js";
import { ExitCode } from "./exit-codes.js";
import { IdentityStore } from "./identity/store.js";
import { createAgentLogger } from "./logger.js";
import { installation, platformDriver, resolveStateDir, runAgent } from "./main.js";
import { addServiceCommands } from "./service/commands.js";
import { loadAgentConfig, writeConfig } from "./service/config.js";
import { forgetDevice } from "./service/device-state.js";
import { imageSettings } from "./service/install.js";
import { isRunning, readStatus } from "./status.js";
import { AGENT_VERSION } from "./version.js";

const program = new Command("tether-agent")
  .description("The Tether agent: enrolls this machine with a control plane and keeps it managed.")
  .version(AGENT_VERSION);

const stateDirOption = () => new Option("--state-dir <dir>", "where the identity and state live (default: agent.json's, or the OS's standard place)").env("TETHER_STATE_DIR");
const configOption = () => new Option("--config <file>", "the settings file (default: the installed agent's agent.json)").env("TETHER_CONFIG");
/** agent.json (the given one or the installed one) and the state directory it and the flags name. */
const settings = async (options: { config?: string; stateDir?: string }) => {
  const loaded = await loadAgentConfig(options.config, platformDriver().installLayout());
  return { ...loaded, stateDir: resolveStateDir(options.stateDir ?? loaded.config?.stateDir) };
};

program
  .command("run")
  .description("Enroll if needed, then stay connected (this is what the service runs)")
  .addOption(stateDirOption())
  .addOption(configOption())
  .addOption(new Option("--connect-key <key>", "connect key from the control plane (needed only to enroll)").env("TETHER_CONNECT_KEY"))
  .option("--display-name <name>", "name shown for this device (default: its hostname)")
  .option("--group <name>", "join this device group at enrollment (repeatable)", (value: string, previous: string[] = []) => [...previous, value])
  .addOption(new Option("--inventory-interval <duration>", "how often to re-collect inventory").default("1h").env("TETHER_INVENTORY_INTERVAL"))
  .addOption(new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace"]).default("info").env("TETHER_LOG_LEVEL"))
  .action(async (options: { stateDir?: string; config?: string; connectKey?: string; displayName?: string; group?: string[]; inventoryInterval: string; logLevel: string }) => {
    let inventoryIntervalMs: number;
    try {
      inventoryIntervalMs = parseDuration(options.inventoryInterval) * 1000;
    } catch (error) {
      throw new CliError(`--inventory-interval: ${(error as Error).message}`, ExitCode.Usage);
    }
    // Flags and environment first, then agent.json.
    const { config, standard, stateDir } = await settings(options);
    const code = await runAgent({
      stateDir,
      connectKey: options.connectKey ?? config?.connectKey,
      connectKeyFromConfig: !options.connectKey && Boolean(config?.connectKey),
      displayName: options.displayName ?? config?.displayName,
      groups: options.group ?? config?.groups,
      serverUrl: config?.serverUrl,
      imageSource: config?.image?.sourceMachine,
      installed: standard && config !== undefined,
      inventoryIntervalMs,
      logger: createAgentLogger(options.logLevel),
    });
    process.exitCode = code;
  });

program
  .command("status")
  .description("Show this machine's identity, server and connection state")
  .addOption(stateDirOption())
  .addOption(configOption())
  .option("--json", "print JSON")
  .action(async (options: { stateDir?: string; config?: string; json?: boolean }) => {
    const platform = platformDriver();
    const { stateDir } = await settings(options);
    const identity = await new IdentityStore(stateDir, platform).load();
    const status = await readStatus(stateDir);
    const running = status ? isRunning(status.pid) : false;
    // Without an identity, a running agent is enrolling, or waiting on an image's own machine.
    const state = running && status && (identity || status.state === "enrolling" || status.state === "waiting") ? status.state : !identity ? "not enrolled" : "not running";
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
  .description("Forget this machine's device: identity, status and executions journal (before capturing a system image, or to re-enroll)")
  .addOption(stateDirOption())
  .addOption(configOption())
  .option("--image", "also keep this machine from enrolling again: only machines made from its image enroll")
  .action(async (options: { stateDir?: string; config?: string; image?: boolean }) => {
    const platform = platformDriver();
    const { stateDir, config, path } = await settings(options);
    const status = await readStatus(stateDir);
    if (status && isRunning(status.pid) && status.pid !== process.pid) {
      throw new CliError(`the agent is running (pid ${status.pid}); stop it first ("tether-agent service stop")`);
    }
    if (options.image && !config) throw new CliError(`there is no ${path}: install the agent first`, ExitCode.Usage);
    const image = options.image ? await imageSettings(platform) : undefined;
    await forgetDevice(new IdentityStore(stateDir, platform));
    if (image && config) {
      await writeConfig(path, { ...config, image }, platform);
      process.stdout.write(`Identity removed from ${stateDir}; this machine is now an image source: only machines made from its image enroll.\n`);
    } else {
      process.stdout.write(`Identity removed from ${stateDir}; the next run enrolls again with a connect key.\n`);
    }
  });

addServiceCommands(program, installation);

// No top-level await: the native binary bundles this file as CommonJS (scripts/build/bundle.ts), where
// esbuild refuses it. runCli never rejects: it reports every failure itself and sets the exit code.
void runCli(program);
