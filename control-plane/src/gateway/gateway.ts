import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { CloseCode } from "../../../shared/src/protocol/close-codes.js";
import { MAX_MESSAGE_BYTES } from "../../../shared/src/protocol/messages.js";
import type { Metrics } from "../metrics.js";
import type { ServerMessage } from "../../../shared/src/protocol/messages.js";
import type { AgentSessionService } from "../services/agent-sessions.js";
import type { Dispatcher } from "../services/dispatcher.js";
import type { ExecutionService } from "../services/executions.js";
import type { AgentChannel, AgentPresence } from "../services/ports.js";
import { closeReason } from "./close-reason.js";
import { AgentSession, type SessionHost } from "./session.js";
import { clientIdentity, refuseUpgrade } from "./upgrade.js";

export const AGENT_CONNECT_PATH = "/agent/v1/connect";

/** Sessions handled per event-loop turn in periodic sweeps. */
const SLICE = 1000;

function* slices<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface GatewayOptions {
  logger: Logger;
  serverVersion: string;
  heartbeatSeconds: number;
  inventoryIntervalSeconds?: number | undefined;
  helloTimeoutMs?: number;
  /** How often the last-contact time of live sessions is written (one transaction for all). */
  touchIntervalMs?: number;
}

/**
 * Holds every agent's WebSocket on the HTTPS server's port. Authentication is the TLS client
 * certificate; everything after the upgrade is decided by AgentSessionService.
 */
export class AgentGateway implements AgentPresence, AgentChannel, SessionHost {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false });
  private readonly live = new Map<string, AgentSession>();
  private readonly all = new Set<AgentSession>();
  private heartbeat: NodeJS.Timeout | undefined;
  private toucher: NodeJS.Timeout | undefined;
  private bound: { service: AgentSessionService; executions: ExecutionService; dispatcher: Dispatcher; metrics: Metrics } | undefined;
  readonly logger: Logger;
  readonly serverVersion: string;
  readonly heartbeatSeconds: number;
  readonly inventoryIntervalSeconds: number | undefined;
  readonly helloTimeoutMs: number;

  constructor(private readonly options: GatewayOptions) {
    this.logger = options.logger;
    this.serverVersion = options.serverVersion;
    this.heartbeatSeconds = options.heartbeatSeconds;
    this.inventoryIntervalSeconds = options.inventoryIntervalSeconds;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  }

  /** The services need the gateway (presence, channel) and the gateway needs them: wired after both exist. */
  bind(parts: { service: AgentSessionService; executions: ExecutionService; dispatcher: Dispatcher; metrics: Metrics }): void {
    this.bound = parts;
  }

  private get parts() {
    if (!this.bound) throw new Error("gateway used before bind()");
    return this.bound;
  }

  get service(): AgentSessionService {
    return this.parts.service;
  }

  get executions(): ExecutionService {
    return this.parts.executions;
  }

  get metrics(): Metrics {
    return this.parts.metrics;
  }

  canReceive(deviceId: string, capability: string): boolean {
    return this.live.get(deviceId)?.capabilities.has(capability) ?? false;
  }

  send(deviceId: string, message: ServerMessage): boolean {
    const session = this.live.get(deviceId);
    if (!session) return false;
    session.send(message);
    return true;
  }

  ready(session: AgentSession): void {
    if (this.live.get(session.deviceId) === session) this.parts.dispatcher.welcomed(session.deviceId);
  }

  get connectedCount(): number {
    return this.live.size;
  }

  attach(server: Server): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.heartbeat = setInterval(() => void this.beat(), this.heartbeatSeconds * 1000);
    this.toucher = setInterval(() => void this.touchLive(), this.options.touchIntervalMs ?? 60_000);
    this.heartbeat.unref();
    this.toucher.unref();
  }

  isConnected(deviceId: string): boolean {
    return this.live.has(deviceId);
  }

  disconnect(deviceId: string, code: number, reason: string): void {
    // Sessions still waiting for hello are closed too: a deleted device must not slip through.
    for (const session of this.all) if (session.deviceId === deviceId) session.close(code, reason);
  }

  welcomed(session: AgentSession): void {
    const previous = this.live.get(session.deviceId);
    this.live.set(session.deviceId, session);
    if (previous && previous !== session) previous.close(CloseCode.Replaced, "a newer session of this device took over");
    this.logger.debug({ deviceId: session.deviceId, remoteIp: session.remoteIp }, "agent connected");
  }

  ended(session: AgentSession): void {
    this.all.delete(session);
    if (this.live.get(session.deviceId) !== session) return;
    this.live.delete(session.deviceId);
    try {
      this.service.disconnected(session.deviceId, new Date());
    } catch (error) {
      // A deleted device has no row left to mark offline; nothing else can fail here that matters more.
      this.logger.debug({ deviceId: session.deviceId, err: error }, "could not record disconnect");
    }
    this.logger.debug({ deviceId: session.deviceId }, "agent disconnected");
  }

  /**
   * Closes every session with GoingAway so agents reconnect to the next instance, waiting briefly for
   * the close handshakes before cutting what is left.
   */
  async close(graceMs = 2000): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.toucher);
    for (const session of this.all) session.close(CloseCode.GoingAway, "the control plane is shutting down");
    const deadline = Date.now() + graceMs;
    while (this.all.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const session of this.all) session.ws.terminate();
    this.wss.close();
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? "").split("?")[0];
    if (path !== AGENT_CONNECT_PATH) {
      refuseUpgrade(socket, 404, `no WebSocket endpoint at ${path}`);
      return;
    }
    const identity = clientIdentity(req);
    if (!identity.ok) {
      this.logger.info({ remoteIp: req.socket.remoteAddress, reason: identity.reason }, "agent connection refused");
      refuseUpgrade(socket, identity.status, identity.reason);
      return;
    }
    const admission = this.service.admit(identity.deviceId);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (admission !== "ok") {
        const [code, reason] =
          admission === "revoked"
            ? [CloseCode.DeviceRevoked, "this device was deleted by an administrator"]
            : [CloseCode.UnknownDevice, "this control plane has no such device"];
        ws.close(code, closeReason(reason));
        return;
      }
      const session = new AgentSession(identity.deviceId, ws, req.socket.remoteAddress ?? null, this);
      this.all.add(session);
    });
  }

  /**
   * Pings every session and drops those that did not answer the previous ping. Done in slices that
   * yield to the event loop, so tens of thousands of sessions do not stall requests for a whole sweep.
   */
  private async beat(): Promise<void> {
    for (const slice of slices([...this.all], SLICE)) {
      for (const session of slice) {
        if (!session.alive) {
          session.ws.terminate();
          continue;
        }
        session.alive = false;
        session.ws.ping();
      }
      await yieldToEventLoop();
    }
  }

  /** Writes last-contact times for live sessions, a slice per transaction, yielding in between. */
  private async touchLive(): Promise<void> {
    const now = new Date();
    for (const slice of slices([...this.live.keys()], SLICE)) {
      this.service.touch(slice, now);
      await yieldToEventLoop();
    }
  }
}
