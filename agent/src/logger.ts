import pino, { type Logger } from "pino";
import { SECRET_PATHS } from "../../shared/src/log-redaction.js";

/** JSON logs for journald / log files; pretty in a terminal. Secrets are redacted by path. */
export function createAgentLogger(level: string = "info", pretty: boolean = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: "tether-agent" },
    redact: { paths: SECRET_PATHS, censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname,service" } } } : {}),
  });
}
