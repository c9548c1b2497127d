import { parseDuration } from "../../shared/src/duration.js";
import { dataPaths } from "./data-dir.js";

/**
 * Settings of `tether-server serve`. Each comes from its flag, else its TETHER_* environment variable,
 * else the default; docs/configuration.md lists them.
 */
export interface ServeConfig {
  dataDir: string;
  listenHost: string;
  listenPort: number;
  /** Overrides the URL stored at init (what connect keys point agents to). */
  publicUrl: string | undefined;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  /** Agent binaries and installers served at /downloads (docs/service.md, "Installing with the one-liner"). */
  downloadsDir: string;
  logLevel: string;
  heartbeatSeconds: number;
  deviceCertValiditySeconds: number;
  inventoryIntervalSeconds: number | undefined;
  bodyLimit: string;
  /** Largest command attachment accepted (body-parser syntax). */
  fileLimit: string;
  /** How often queued executions past their time to live are marked expired. */
  expirySweepMs: number;
}

export interface ServeFlags {
  dataDir?: string | undefined;
  listen?: string | undefined;
  publicUrl?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  downloadsDir?: string | undefined;
  logLevel?: string | undefined;
}

export const DEFAULT_LISTEN = "0.0.0.0:8443";

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new Error(`"${text}" is not HOST:PORT (e.g. 0.0.0.0:8443 or [::]:8443)`);
  return { host: (match[1] ?? match[2])!, port };
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function loadServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const dataDir = flags.dataDir ?? env.TETHER_DATA_DIR;
  if (!dataDir) throw new Error("give --data-dir DIR (or TETHER_DATA_DIR)");
  const listen = parseListen(flags.listen ?? env.TETHER_LISTEN ?? DEFAULT_LISTEN);
  const tlsCertFile = flags.tlsCert ?? env.TETHER_TLS_CERT;
  const tlsKeyFile = flags.tlsKey ?? env.TETHER_TLS_KEY;
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile)) throw new Error("--tls-cert and --tls-key go together: give both or neither");
  const logLevel = flags.logLevel ?? env.TETHER_LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`log level "${logLevel}" is not one of ${LOG_LEVELS.join(", ")}`);
  const inventory = env.TETHER_INVENTORY_INTERVAL;
  return {
    dataDir,
    listenHost: listen.host,
    listenPort: listen.port,
    publicUrl: flags.publicUrl ?? env.TETHER_PUBLIC_URL,
    tlsCertFile,
    tlsKeyFile,
    downloadsDir: flags.downloadsDir ?? env.TETHER_DOWNLOADS_DIR ?? dataPaths(dataDir).downloadsDir,
    logLevel,
    heartbeatSeconds: setting("TETHER_HEARTBEAT_INTERVAL", env, "30s"),
    deviceCertValiditySeconds: setting("TETHER_DEVICE_CERT_VALIDITY", env, "90d"),
    inventoryIntervalSeconds: inventory ? setting("TETHER_INVENTORY_INTERVAL", env, inventory) : undefined,
    bodyLimit: env.TETHER_MAX_BODY ?? "4mb",
    fileLimit: env.TETHER_MAX_FILE ?? "100mb",
    expirySweepMs: setting("TETHER_EXPIRY_SWEEP_INTERVAL", env, "5s") * 1000,
  };
}

function setting(name: string, env: NodeJS.ProcessEnv, fallback: string): number {
  try {
    return parseDuration(env[name] ?? fallback);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
}
