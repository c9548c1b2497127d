/**
 * `npm start`: the quickest way to see Tether work. Initialises ./data on first run, serves the control
 * plane on https://127.0.0.1:8443 and starts one agent for this machine, so a device is online at once.
 *   npm start -- --no-local-agent     control plane only
 * Settings: TETHER_DATA_DIR (./data), TETHER_LISTEN (127.0.0.1:8443), TETHER_PUBLIC_URL,
 * TETHER_DOWNLOADS_DIR (./dist: the agent binaries and installers the build made).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Command } from "commander";
import { runCli } from "../shared/src/cli/run-cli.js";
import { loadServeConfig } from "../control-plane/src/config.js";
import { dataPaths, initialisedMarker } from "../control-plane/src/data-dir.js";
import { initDataDir, type InitResult } from "../control-plane/src/init.js";
import { createLogger } from "../control-plane/src/logger.js";
import { startControlPlane } from "../control-plane/src/server.js";

const ROOT = resolve(import.meta.dirname, "..");

const program = new Command("quickstart")
  .description("Run a control plane on embedded SQLite and one agent for this machine")
  .option("--no-local-agent", "do not start an agent for this machine")
  .action(async (options: { localAgent: boolean }) => {
    const dataDir = resolve(process.env.TETHER_DATA_DIR ?? join(ROOT, "data"));
    const listen = process.env.TETHER_LISTEN ?? "127.0.0.1:8443";
    const credentialsFile = join(dataDir, "credentials.json");
    // Paths inside the working directory read best relative; others absolute.
    const show = (p: string) => {
      const rel = relative(process.cwd(), p);
      return rel.startsWith("..") ? p : rel || ".";
    };

    let credentials: InitResult;
    if (!initialisedMarker(dataPaths(dataDir))) {
      credentials = initDataDir(dataDir, process.env.TETHER_PUBLIC_URL ?? `https://${listen}`);
      writeFileSync(credentialsFile, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
      chmodSync(credentialsFile, 0o600);
      console.log(
        [
          "",
          `Initialised ${show(dataDir)}. These are shown once and kept in ${show(credentialsFile)} (mode 0600):`,
          `  admin API key:   ${credentials.adminApiKey}`,
          `  connect key:     ${credentials.connectKey}`,
          `  CA fingerprint:  ${credentials.caFingerprint}`,
          "",
        ].join("\n"),
      );
    } else if (existsSync(credentialsFile)) {
      credentials = JSON.parse(readFileSync(credentialsFile, "utf8")) as InitResult;
      console.log(`\nUsing ${show(dataDir)}; the admin API key and connect key are in ${show(credentialsFile)}.\n`);
    } else {
      throw new Error(`${dataDir} was initialised without the quickstart (no credentials.json): run "npm run server -- serve --data-dir ${dataDir}" instead`);
    }

    // A checkout serves what `npm run build:agent` (and build:installers) made.
    const config = loadServeConfig({ dataDir, listen, downloadsDir: process.env.TETHER_DOWNLOADS_DIR ?? join(ROOT, "dist") });
    const logger = createLogger(config.logLevel);
    const running = await startControlPlane(config, logger);

    let agent: ChildProcess | undefined;
    if (options.localAgent) {
      const logFile = join(dataDir, "local-agent.log");
      agent = spawn(
        process.execPath,
        ["--import", "tsx", join(ROOT, "agent/src/cli.ts"), "run", "--state-dir", join(dataDir, "local-agent"), "--display-name", "this machine (quickstart)"],
        { cwd: ROOT, env: { ...process.env, TETHER_CONNECT_KEY: credentials.connectKey }, stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")] },
      );
      console.log(`Started a local agent (pid ${agent.pid}); its log is ${show(logFile)}.`);
    }
    console.log(
      [
        "",
        `Control plane: ${running.listenUrl}   OpenAPI: ${running.listenUrl}/api/v1/openapi.json`,
        "Next, in another terminal:",
        `  export TETHER_URL=${credentials.url} TETHER_CA_FILE=${show(dataPaths(dataDir).caCert)}`,
        `  export TETHER_API_KEY=$(node -p 'require("${resolve(credentialsFile)}").adminApiKey')`,
        "  npm run ctl -- devices list",
        "  npm run ctl -- install-command      # the one-liner that installs the agent on another machine",
        "Press Ctrl-C to stop.",
        "",
      ].join("\n"),
    );

    await new Promise<void>((done) => {
      const stop = () => {
        agent?.kill("SIGTERM");
        void running.close().then(done);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  });

await runCli(program);
