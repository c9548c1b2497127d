import { z } from "zod";
import { ExecAckSchema, ExecCancelSchema, ExecOutputSchema, ExecResultSchema, ExecRunSchema, ExecStartedSchema } from "./commands.js";
import { InventorySchema, MachineFingerprintSchema } from "./inventory.js";

/**
 * Every message on the agent WebSocket, defined once. Both ends validate what they receive with
 * `parseMessage`; a message that fails is answered with an `error` message and otherwise ignored.
 */

const deviceId = z.string().regex(/^dev_[A-Za-z0-9_-]{10,64}$/, "a device id looks like dev_…");
const requestId = z.string().min(1).max(64);

/** Agent → server, first message after connecting. */
export const HelloSchema = z.object({
  type: z.literal("hello"),
  /** Any version parses, so an agent too old to serve is told so (CloseCode.UnsupportedProtocol). */
  protocolVersion: z.number().int().nonnegative(),
  agentVersion: z.string().min(1).max(64),
  /** Must match the CN of the client certificate; a mismatch closes the session. */
  deviceId,
  capabilities: z.array(z.string().max(64)).max(64),
  os: z.object({ platform: z.string().max(32), arch: z.string().max(32), hostname: z.string().max(255) }),
  machine: MachineFingerprintSchema,
  /**
   * The device whose identity this machine carried until the control plane refused it as a clone
   * (CloseCode.CloneDetected) and the agent enrolled this machine afresh. The control plane records it in
   * the original device's history at this device's first hello. Absent: this identity was not enrolled
   * to replace a cloned one. Optional, so servers that predate it simply ignore it.
   */
  clonedFrom: deviceId.optional(),
});

/** Server → agent, the answer to a valid hello. */
export const WelcomeSchema = z.object({
  type: z.literal("welcome"),
  /** The version both sides will speak: min(agent's, server's). */
  protocolVersion: z.number().int().positive(),
  serverVersion: z.string().max(64),
  capabilities: z.array(z.string().max(64)).max(64),
  deviceId,
  /** The server pings this often; the agent drops a connection silent for about twice as long. */
  heartbeatSeconds: z.number().int().positive(),
  /** How often the agent re-collects inventory. Absent: the agent keeps its own setting. */
  inventoryIntervalSeconds: z.number().int().positive().optional(),
});

/** Agent → server: the full inventory, sent on connect and whenever it changes. */
export const InventoryMessageSchema = z.object({
  type: z.literal("inventory"),
  inventory: InventorySchema,
});

/** Agent → server: a new CSR for the same device id, sent well before the certificate expires. */
export const CertRenewSchema = z.object({
  type: z.literal("cert.renew"),
  requestId,
  csrPem: z.string().min(1).max(16_384),
});

/** Server → agent: the renewed certificate. */
export const CertRenewedSchema = z.object({
  type: z.literal("cert.renewed"),
  requestId,
  certificatePem: z.string().min(1).max(16_384),
  caChainPem: z.string().min(1).max(65_536),
});

/** Either direction: a message could not be handled. Never answered with another error. */
export const ErrorMessageSchema = z.object({
  type: z.literal("error"),
  code: z.string().max(64),
  message: z.string().max(2048),
  /** The requestId or type of the message this answers. Absent: not tied to one message. */
  inReplyTo: z.string().max(64).optional(),
});

export const AgentMessageSchema = z.discriminatedUnion("type", [
  HelloSchema,
  InventoryMessageSchema,
  CertRenewSchema,
  ErrorMessageSchema,
  ExecStartedSchema,
  ExecOutputSchema,
  ExecResultSchema,
]);
export const ServerMessageSchema = z.discriminatedUnion("type", [
  WelcomeSchema,
  CertRenewedSchema,
  ErrorMessageSchema,
  ExecRunSchema,
  ExecCancelSchema,
  ExecAckSchema,
]);

export type Hello = z.infer<typeof HelloSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type InventoryMessage = z.infer<typeof InventoryMessageSchema>;
export type CertRenew = z.infer<typeof CertRenewSchema>;
export type CertRenewed = z.infer<typeof CertRenewedSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type AgentMessage = z.infer<typeof AgentMessageSchema>;
export type ServerMessage = z.infer<typeof ServerMessageSchema>;

/** Largest frame either side accepts; the WebSocket layer enforces it too. Results carry up to 1 MiB per stream. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: ErrorMessage };

/** Decodes and validates one frame. Never throws: a bad frame becomes the error to send back. */
export function parseMessage<T>(schema: z.ZodType<T>, raw: string): ParseResult<T> {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, error: protocolError("bad_json", "the frame is not JSON") };
  }
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, message: parsed.data };
  // Only a string type is echoed: String() of an object such as {"toString": 1} throws.
  const rawType = typeof data === "object" && data !== null ? (data as { type?: unknown }).type : undefined;
  const type = typeof rawType === "string" ? rawType.slice(0, 64) : undefined;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
  return {
    ok: false,
    error: protocolError(
      issue?.code === "invalid_union" && issue.path.length === 1 && issue.path[0] === "type" ? "unknown_type" : "invalid_message",
      `${type ? `message "${type}"` : "message"} is invalid${where}: ${issue?.message ?? "unknown problem"}`,
      type,
    ),
  };
}

export function protocolError(code: string, message: string, inReplyTo?: string): ErrorMessage {
  return { type: "error", code, message: message.slice(0, 2048), ...(inReplyTo ? { inReplyTo } : {}) };
}
