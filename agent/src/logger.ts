import pino, { type Logger } from "pino";
import { SECRET_PATHS } from "../../shared/src/log-redaction.js";
import { isSea } from "./sea/runtime.js";

/**
 * JSON logs for journald / log files; pretty in a terminal. Secrets are redacted by path.
 * The native binary always logs JSON: pino-pretty runs as a transport in a worker thread that loads its
 * code from files, and a single executable has none.
 */
export function createAgentLogger(level: string = "info", pretty: boolean = process.stdout.isTTY === true && !isSea()): Logger {
  return pino({
    level,
    base: { service: "tether-agent" },
    redact: { paths: SECRET_PATHS, censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname,service" } } } : {}),
  });
}
