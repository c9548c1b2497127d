import type { Logger } from "pino";
import type WebSocket from "ws";
import { CloseCode } from "../../../shared/src/protocol/close-codes.js";
import {
  AgentMessageSchema,
  parseMessage,
  protocolError,
  type AgentMessage,
  type ServerMessage,
} from "../../../shared/src/protocol/messages.js";
import { ALL_CAPABILITIES } from "../../../shared/src/protocol/version.js";
import type { Metrics } from "../metrics.js";
import type { AgentSessionService } from "../services/agent-sessions.js";
import type { ExecutionService } from "../services/executions.js";
import { closeReason } from "./close-reason.js";

export interface SessionHost {
  readonly service: AgentSessionService;
  readonly executions: ExecutionService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly serverVersion: string;
  readonly heartbeatSeconds: number;
  readonly inventoryIntervalSeconds: number | undefined;
  readonly helloTimeoutMs: number;
  /** Called once the hello is accepted, before the welcome is sent. */
  welcomed(session: AgentSession): void;
  /** Called after the welcome went out: the session may now receive work. */
  ready(session: AgentSession): void;
  ended(session: AgentSession): void;
}

/**
 * One agent's WebSocket: waits for hello, then routes messages to the session service. Every frame is
 * validated; a bad one is answered with an error message and the session goes on.
 */
export class AgentSession {
  alive = true;
  welcomed = false;
  /** What the agent said it can do, from its hello. */
  capabilities: ReadonlySet<string> = new Set();
  private helloTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly deviceId: string,
    readonly ws: WebSocket,
    readonly remoteIp: string | null,
    private readonly host: SessionHost,
  ) {
    this.helloTimer = setTimeout(() => this.close(CloseCode.ProtocolError, "no hello within the time allowed"), host.helloTimeoutMs);
    ws.on("message", (data, isBinary) => this.onFrame(isBinary ? null : data.toString()));
    ws.on("pong", () => {
      this.alive = true;
    });
    ws.on("close", () => {
      clearTimeout(this.helloTimer);
      host.ended(this);
    });
    ws.on("error", (error) => host.logger.debug({ deviceId, err: error }, "agent socket error"));
  }

  send(message: ServerMessage): void {
    this.host.metrics.wsMessages.inc({ direction: "out", type: message.type });
    this.ws.send(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    this.ws.close(code, closeReason(reason));
  }

  private onFrame(text: string | null): void {
    if (text === null) {
      this.host.metrics.wsMessages.inc({ direction: "in", type: "binary" });
      this.send(protocolError("binary_frame", "frames must be JSON text"));
      return;
    }
    const parsed = parseMessage(AgentMessageSchema, text);
    if (!parsed.ok) {
      this.host.metrics.wsMessages.inc({ direction: "in", type: "invalid" });
      this.host.logger.warn({ deviceId: this.deviceId, problem: parsed.error.message }, "invalid message from agent");
      this.send(parsed.error);
      return;
    }
    this.host.metrics.wsMessages.inc({ direction: "in", type: parsed.message.type });
    try {
      this.handle(parsed.message);
    } catch (error) {
      this.failed(error, parsed.message.type);
    }
  }

  private failed(error: unknown, type: string): void {
    this.host.logger.error({ deviceId: this.deviceId, err: error, type }, "failed to handle agent message");
    this.send(protocolError("internal_error", "the server failed to handle this message", type));
  }

  private handle(message: AgentMessage): void {
    if (!this.welcomed && message.type !== "hello" && message.type !== "error") {
      this.send(protocolError("hello_required", "send hello first", message.type));
      return;
    }
    const now = new Date();
    switch (message.type) {
      case "hello": {
        if (this.welcomed) {
          this.send(protocolError("duplicate_hello", "this session already said hello", "hello"));
          return;
        }
        clearTimeout(this.helloTimer);
        const decision = this.host.service.hello(this.deviceId, message, this.remoteIp, now);
        if (!decision.accept) {
          this.host.logger.info({ deviceId: this.deviceId, code: decision.code, reason: decision.reason }, "agent session refused");
          this.close(decision.code, decision.reason);
          return;
        }
        this.welcomed = true;
        this.capabilities = new Set(message.capabilities);
        this.host.welcomed(this);
        this.send({
          type: "welcome",
          protocolVersion: decision.protocolVersion,
          serverVersion: this.host.serverVersion,
          capabilities: [...ALL_CAPABILITIES],
          deviceId: this.deviceId,
          heartbeatSeconds: this.host.heartbeatSeconds,
          ...(this.host.inventoryIntervalSeconds ? { inventoryIntervalSeconds: this.host.inventoryIntervalSeconds } : {}),
        });
        this.host.ready(this);
        return;
      }
      case "inventory":
        this.host.service.inventory(this.deviceId, message.inventory, now);
        return;
      case "cert.renew": {
        let renewed;
        try {
          renewed = this.host.service.renewCertificate(this.deviceId, message.csrPem, this.remoteIp, now);
        } catch (error) {
          this.send(protocolError("renewal_refused", `certificate renewal refused: ${(error as Error).message}`, message.requestId));
          return;
        }
        this.send({ type: "cert.renewed", requestId: message.requestId, certificatePem: renewed.certificatePem, caChainPem: renewed.caChainPem });
        return;
      }
      case "exec.started":
        this.host.executions.started(this.deviceId, message.executionId, message.startedAt).catch((error: unknown) => this.failed(error, message.type));
        return;
      case "exec.output":
        this.host.executions.output(this.deviceId, message.executionId, message.stream, message.chunk);
        return;
      case "exec.result":
        // Acknowledged only once the result is committed: until then the agent keeps it in its outbox.
        this.host.executions
          .result(this.deviceId, message)
          .then((ack) => {
            if (ack) this.send({ type: "exec.ack", executionId: message.executionId });
          })
          .catch((error: unknown) => this.failed(error, message.type));
        return;
      case "error":
        this.host.logger.warn({ deviceId: this.deviceId, code: message.code, problem: message.message }, "agent reported an error");
        return;
    }
  }
}
