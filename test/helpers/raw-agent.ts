import WebSocket from "ws";
import { decodeConnectKey } from "../../shared/src/connect-key.js";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import type { TestControlPlane } from "./control-plane.js";

/**
 * A hand-driven agent for protocol tests: enrolls over REST with a real CSR and opens the mTLS
 * WebSocket, so a test can send exactly the frames it wants (valid or not).
 */
export interface RawCredentials {
  deviceId: string;
  keyPem: string;
  certificatePem: string;
}

export async function enrollRaw(cp: TestControlPlane, hostname = "raw-agent"): Promise<RawCredentials> {
  const { keyPem, csrPem } = generateKeyAndCsr("raw");
  const secret = decodeConnectKey(cp.connectKey).secret;
  const response = await cp.api("POST", "/agent/v1/enroll", { connectKeySecret: secret, csrPem, hostname, platform: "linux" }, null);
  if (response.status !== 201) throw new Error(`enrollment failed: ${JSON.stringify(response.body)}`);
  return { deviceId: response.body.deviceId, keyPem, certificatePem: response.body.certificatePem };
}

export interface RawSession {
  ws: WebSocket;
  /** The next message (parsed JSON) the server sends, optionally of a given type. */
  next(type?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
}

export function openRaw(cp: TestControlPlane, credentials: { keyPem: string; certificatePem: string } | null): Promise<RawSession> {
  const ws = new WebSocket(`wss://127.0.0.1:${cp.port}/agent/v1/connect`, {
    ca: cp.caPem,
    ...(credentials ? { key: credentials.keyPem, cert: credentials.certificatePem } : {}),
  });
  const queue: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on("message", (data) => {
    queue.push(JSON.parse(data.toString()) as Record<string, unknown>);
    waiters.splice(0).forEach((wake) => wake());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once("open", () =>
      resolve({
        ws,
        closed,
        send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
        async next(type, timeoutMs = 5000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const index = queue.findIndex((m) => type === undefined || m.type === type);
            if (index >= 0) return queue.splice(index, 1)[0]!;
            if (Date.now() > deadline) throw new Error(`no "${type ?? "any"}" message within ${timeoutMs} ms; got ${JSON.stringify(queue)}`);
            await new Promise<void>((wake) => {
              waiters.push(wake);
              setTimeout(wake, 100);
            });
          }
        },
      }),
    );
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.once("error", reject);
  });
}

export function hello(deviceId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "hello",
    protocolVersion: 1,
    agentVersion: "0.0.0-test",
    deviceId,
    capabilities: ["inventory"],
    os: { platform: "linux", arch: "x64", hostname: "raw-agent" },
    machine: { machineId: "a".repeat(32), macs: ["02:00:00:00:00:01"] },
    ...overrides,
  };
}
