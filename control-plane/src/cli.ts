#!/usr/bin/env node
import { Command, Option } from "commander";
import { CliError, runCli } from "../../shared/src/cli/run-cli.js";
import { loadServeConfig } from "./config.js";
import { ConflictError } from "./errors.js";
import { initDataDir } from "./init.js";
import { createLogger } from "./logger.js";
import { startControlPlane } from "./server.js";
import { SERVER_VERSION } from "./version.js";

const program = new Command("tether-server")
  .description("The Tether control plane: REST API for admins, WebSocket gateway for agents, and the CA.")
  .version(SERVER_VERSION);

program
  .command("init")
  .description("Create the database, CA, server certificate, first admin API key and a default connect key")
  .requiredOption("--data-dir <dir>", "where the control plane keeps its state", process.env.TETHER_DATA_DIR)
  .requiredOption("--public-url <url>", "the https:// URL agents and admins will use, e.g. https://tether.example.com:8443", process.env.TETHER_PUBLIC_URL)
  .option("--json", "print one JSON object {adminApiKey, connectKey, caFingerprint, url}")
  .action((options: { dataDir: string; publicUrl: string; json?: boolean }) => {
    let result;
    try {
      result = initDataDir(options.dataDir, options.publicUrl);
    } catch (error) {
      throw new CliError((error as Error).message, error instanceof ConflictError ? 3 : 1);
    }
    if (options.json) {
      process.stdout.write(JSON.stringify(result) + "\n");
      return;
    }
    process.stdout.write(
      [
        `Initialised ${options.dataDir} for ${result.url}`,
        "",
        `Admin API key (shown once, stored only as a hash):`,
        `  ${result.adminApiKey}`,
        `Connect key (enrolls agents; pins this CA):`,
        `  ${result.connectKey}`,
        `CA fingerprint (SHA-256):`,
        `  ${result.caFingerprint}`,
        "",
        `Next: tether-server serve --data-dir ${options.dataDir}`,
        "",
      ].join("\n"),
    );
  });

program
  .command("serve")
  .description("Serve the REST API and the agent gateway (HTTPS and WSS on one port)")
  .option("--data-dir <dir>", "the directory made by init (env TETHER_DATA_DIR)")
  .option("--listen <host:port>", "address to listen on (env TETHER_LISTEN; default 0.0.0.0:8443)")
  .option("--public-url <url>", "override the URL stored at init (env TETHER_PUBLIC_URL)")
  .option("--tls-cert <file>", "serve this certificate instead of the generated one (env TETHER_TLS_CERT)")
  .option("--tls-key <file>", "its private key (env TETHER_TLS_KEY)")
  .option("--downloads-dir <dir>", "agent binaries and installers to serve at /downloads, in agent/ and installers/ (env TETHER_DOWNLOADS_DIR; default DATA/downloads)")
  .addOption(new Option("--log-level <level>", "log level (env TETHER_LOG_LEVEL)").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]))
  .action(async (flags) => {
    let config;
    try {
      config = loadServeConfig(flags);
    } catch (error) {
      throw new CliError((error as Error).message, 2);
    }
    const logger = createLogger(config.logLevel);
    const running = await startControlPlane(config, logger);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, "shutting down");
        void running.close().then(resolve);
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
  });

await runCli(program);
