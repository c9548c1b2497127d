import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import WebSocket from "ws";
import { FATAL_CLOSE_CODES } from "../../../shared/src/protocol/close-codes.js";
import {
  MAX_MESSAGE_BYTES,
  ServerMessageSchema,
  parseMessage,
  type AgentMessage,
  type Hello,
  type ServerMessage,
  type Welcome,
} from "../../../shared/src/protocol/messages.js";
import type { Identity } from "../identity/store.js";
import { Backoff } from "./backoff.js";
import { describeConnectError } from "./describe-error.js";
import { QuietLog } from "./quiet-log.js";
import { Watchdog } from "./watchdog.js";

export type ConnectionState = "connecting" | "connected" | "disconnected" | "stopped";

/** How the connection ended for good: a close code that makes retrying pointless, or stop(). */
export type ConnectionEnd = { kind: "fatal"; code: number; reason: string } | { kind: "stopped" };

export interface MessageSink {
  send(message: AgentMessage): boolean;
}

export interface ConnectionOptions {
  logger: Logger;
  /** The current identity; read on every attempt so a renewed certificate is used at once. */
  identity: () => Identity;
  hello: () => Promise<Hello>;
  onWelcome: (welcome: Welcome, sink: MessageSink) => void;
  onMessage: (message: ServerMessage, sink: MessageSink) => void;
  onState?: (state: ConnectionState, detail?: string) => void;
  backoff?: Backoff;
  /** Silence allowed before the first welcome tells the heartbeat; afterwards about 2 heartbeats. */
  initialSilenceMs?: number;
}

/**
 * Keeps one WebSocket to the control plane: connect with mTLS, hello, handle messages, and on any
 * loss reconnect with capped, jittered backoff. Resolves only when the server ends the identity's
 * right to connect (a fatal close code) or stop() is called.
 */
export class AgentConnection implements MessageSink {
  private socket: WebSocket | undefined;
  private stopped = false;
  private finish!: (end: ConnectionEnd) => void;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly quiet = new QuietLog();
  private readonly watchdog: Watchdog;

  constructor(private readonly options: ConnectionOptions) {
    this.backoff = options.backoff ?? new Backoff();
    this.watchdog = new Watchdog(options.initialSilenceMs ?? 90_000, () => {
      options.logger.warn("no word from the control plane for too long; reconnecting");
      this.socket?.terminate();
    });
  }

  run(): Promise<ConnectionEnd> {
    const done = new Promise<ConnectionEnd>((resolve) => (this.finish = resolve));
    this.attempt();
    return done;
  }

  send(message: AgentMessage): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Closes the connection cleanly (service stop). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.watchdog.stop();
    this.socket?.close(1000, "agent stopping");
    this.setState("stopped");
    this.finish({ kind: "stopped" });
  }

  private setState(state: ConnectionState, detail?: string): void {
    this.options.onState?.(state, detail);
  }

  private attempt(): void {
    if (this.stopped) return;
    const identity = this.options.identity();
    const url = `${identity.serverUrl.replace(/^http/, "ws")}/agent/v1/connect`;
    this.setState("connecting");
    const ws = new WebSocket(url, {
      // A pinned CA is the only trust anchor; without a pin, the system store (public certificate).
      ...(identity.caFingerprint ? { ca: identity.caPem } : {}),
      cert: identity.certificatePem,
      key: identity.keyPem,
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      maxPayload: MAX_MESSAGE_BYTES,
    });
    this.socket = ws;
    let welcomed = false;
    let failure: string | undefined;

    ws.on("unexpected-response", (_req, res: IncomingMessage) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        const message = safeErrorMessage(body) ?? `HTTP ${res.statusCode}`;
        failure = `the server refused the connection: ${message}`;
        ws.terminate();
      });
    });
    ws.on("open", () => {
      this.watchdog.setTimeout(this.options.initialSilenceMs ?? 90_000);
      void this.options.hello().then((hello) => this.send(hello));
    });
    ws.on("ping", () => this.watchdog.feed());
    ws.on("pong", () => this.watchdog.feed());
    ws.on("message", (data, isBinary) => {
      this.watchdog.feed();
      if (isBinary) return;
      const parsed = parseMessage(ServerMessageSchema, data.toString());
      if (!parsed.ok) {
        this.options.logger.warn({ problem: parsed.error.message }, "invalid message from the control plane");
        this.send(parsed.error);
        return;
      }
      const message = parsed.message;
      if (message.type === "welcome") {
        welcomed = true;
        this.backoff.reset();
        this.quiet.reset();
        this.watchdog.setTimeout(message.heartbeatSeconds * 2000 + 5000);
        this.options.logger.info({ deviceId: message.deviceId, serverVersion: message.serverVersion, protocolVersion: message.protocolVersion }, "connected to the control plane");
        this.setState("connected");
        this.options.onWelcome(message, this);
        return;
      }
      if (message.type === "error") {
        this.options.logger.warn({ code: message.code, problem: message.message, inReplyTo: message.inReplyTo }, "the control plane reported an error");
      }
      this.options.onMessage(message, this);
    });
    ws.on("error", (error) => {
      failure ??= describeConnectError(error, identity.serverUrl);
    });
    ws.on("close", (code, reasonBuffer) => {
      this.watchdog.stop();
      if (this.socket !== ws || this.stopped) return;
      const reason = reasonBuffer.toString();
      if (FATAL_CLOSE_CODES.has(code)) {
        this.options.logger.error({ code, reason }, "the control plane ended this identity's session for good");
        this.setState("disconnected", reason);
        this.stopped = true;
        this.finish({ kind: "fatal", code, reason });
        return;
      }
      const delay = this.backoff.next();
      const detail = failure ?? (reason ? `closed by the server (${code}): ${reason}` : `connection closed (${code})`);
      this.setState("disconnected", detail);
      const suppressed = this.quiet.shouldLog();
      if (suppressed !== undefined) {
        const fields = { retryInMs: delay, failures: this.backoff.failures, ...(suppressed > 0 ? { suppressedSinceLastLog: suppressed } : {}) };
        if (welcomed) this.options.logger.warn(fields, `disconnected from the control plane: ${detail}`);
        else this.options.logger.warn(fields, `cannot connect to the control plane: ${detail}`);
      }
      this.retryTimer = setTimeout(() => this.attempt(), delay);
    });
  }
}

function safeErrorMessage(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { message?: string } }).error?.message;
  } catch {
    return undefined;
  }
}
