import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";

export type ClientIdentity = { ok: true; deviceId: string } | { ok: false; status: number; reason: string };

const DEVICE_ID = /^dev_[0-9a-z]{10,64}$/;

/**
 * Reads the device id from a verified client certificate (mTLS). The TLS server asks for client
 * certificates but does not require them (REST clients have none), so the check happens here.
 */
export function clientIdentity(req: IncomingMessage): ClientIdentity {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== "function") {
    return { ok: false, status: 400, reason: "agents must connect over TLS" };
  }
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) {
    return { ok: false, status: 401, reason: "a client certificate is required: enroll the agent first" };
  }
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? "unknown");
    const reason =
      code === "CERT_HAS_EXPIRED"
        ? "the client certificate has expired: re-enroll the device"
        : `the client certificate was not issued by this control plane (${code})`;
    return { ok: false, status: 401, reason };
  }
  const cn = cert.subject?.CN;
  const deviceId = Array.isArray(cn) ? cn[0] : cn;
  if (!deviceId || !DEVICE_ID.test(deviceId)) {
    return { ok: false, status: 401, reason: "the client certificate does not name a device" };
  }
  return { ok: true, deviceId };
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: { code: status === 401 ? "unauthorized" : "bad_request", message: reason } });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : status === 404 ? "Not Found" : "Bad Request"}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
