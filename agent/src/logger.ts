import pino, { type Logger } from "pino";

/** JSON logs for journald / log files; pretty in a terminal. Secrets are redacted by path. */
export function createAgentLogger(level: string = "info", pretty: boolean = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: "tether-agent" },
    redact: { paths: ["connectKey", "*.connectKey", "*.keyPem", "*.connectKeySecret"], censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname,service" } } } : {}),
  });
}
