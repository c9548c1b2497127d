import type { Command } from "commander";
import { CliError } from "../../../../shared/src/cli/run-cli.js";
import { CaPinMismatchError } from "../../../../shared/src/net-errors.js";
import { fetchPinnedCa } from "../../../../shared/src/tls/pinned-ca.js";
import type { Role } from "../../domain/actor.js";
import { ApiClient } from "../api-client.js";
import { usageError } from "../command.js";
import { configPath, removeLogin, saveLogin } from "../config.js";
import { firstSet, normaliseUrl, readCaFile } from "../connection.js";
import { contextOf, globalFlags, printer } from "../context.js";

interface WhoAmI {
  id: string;
  name: string;
  role: Role;
}

interface Health {
  status: "ok";
  version: string;
  protocolVersion: number;
}

const describeKey = (me: WhoAmI) => `${me.name} (role ${me.role}, key ${me.id})`;

/** login, logout, whoami and health: the commands about the connection itself. */
export function registerSessionCommands(program: Command): void {
  program
    .command("login")
    .description("Check an API key against a control plane and save both (with its CA) for later commands")
    .usage("--url URL --api-key KEY [--ca-fingerprint HEX | --ca-file FILE]")
    .option("--ca-fingerprint <hex>", "the SHA-256 fingerprint of the control plane's CA (tether-server init prints it): fetch the CA and pin it")
    .action(async (options: { caFingerprint?: string }, command: Command) => {
      const flags = globalFlags(command);
      const rawUrl = firstSet(flags.url, process.env.TETHER_URL);
      const apiKey = firstSet(flags.apiKey, process.env.TETHER_API_KEY);
      if (rawUrl === undefined || apiKey === undefined) throw usageError("login needs --url URL and --api-key KEY");
      const url = normaliseUrl(rawUrl);
      const caPem = await loginCa(url, options.caFingerprint, firstSet(flags.caFile, process.env.TETHER_CA_FILE));

      // Saved only once the server has accepted the key over the trusted connection.
      const me = await new ApiClient({ url, apiKey, ...(caPem === undefined ? {} : { ca: caPem }) }).get<WhoAmI>("/whoami");
      const path = configPath();
      saveLogin(path, { url, apiKey, ...(caPem === undefined ? {} : { caPem }) });
      printer(flags)(me, () => `Logged in to ${url} as ${describeKey(me)}; saved to ${path}`);
    });

  program
    .command("logout")
    .description("Forget the saved login")
    .action((_options, command: Command) => {
      const path = configPath();
      const removed = removeLogin(path);
      printer(globalFlags(command))(undefined, () => (removed ? `Logged out: removed ${path}` : `Not logged in: there is no ${path}`));
    });

  program
    .command("whoami")
    .description("Show the API key in use")
    .action(async (_options, command: Command) => {
      const { api, print } = contextOf(command);
      print(await api.get<WhoAmI>("/whoami"), (me) => `${describeKey(me)} on ${api.url}`);
    });

  program
    .command("health")
    .description("Check that the control plane is up (needs no API key)")
    .action(async (_options, command: Command) => {
      const { api, print } = contextOf(command, { requireKey: false });
      print(await api.get<Health>("/health"), (h) => `${api.url}: ${h.status}, version ${h.version}, protocol ${h.protocolVersion}`);
    });
}

/** The CA to trust from now on: pinned by fingerprint, read from a file, or none (the system store). */
async function loginCa(url: string, fingerprint: string | undefined, caFile: string | undefined): Promise<string | undefined> {
  if (fingerprint === undefined) return caFile === undefined ? undefined : readCaFile(caFile);
  if (caFile !== undefined) throw usageError("give --ca-fingerprint or --ca-file (or TETHER_CA_FILE), not both");
  const pin = fingerprint.toLowerCase().replace(/:/g, "");
  if (!/^[0-9a-f]{64}$/.test(pin)) throw usageError("--ca-fingerprint must be a SHA-256 fingerprint: 64 hex digits, colons allowed");
  if (!url.startsWith("https://")) throw usageError("--ca-fingerprint needs an https:// URL");
  try {
    return await fetchPinnedCa(url, pin);
  } catch (error) {
    // The shared message speaks of a connect key; here the pin came from the admin's own flag.
    if (error instanceof CaPinMismatchError) {
      const presented = error.presentedIsCa ? `a CA with fingerprint ${error.presentedFingerprint}` : `no CA certificate (its chain ends at ${error.presentedFingerprint})`;
      throw new CliError(
        `the server at ${url} presented ${presented}, not the CA ${pin} given with --ca-fingerprint: ` +
          "check the fingerprint (tether-server init printed it), or someone is intercepting the connection",
      );
    }
    throw error;
  }
}
