import pino, { type Logger } from "pino";
import { SECRET_PATHS } from "../../shared/src/log-redaction.js";

/**
 * JSON logs (one object a line, for log shippers), pretty-printed when a person is watching a
 * terminal. Anything that could hold a secret is redacted, whatever the code around it logs.
 */
export function createLogger(level: string = "info", pretty: boolean = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: "tether-server" },
    redact: {
      paths: SECRET_PATHS,
      censor: "[redacted]",
    },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname,service" } } } : {}),
  });
}
