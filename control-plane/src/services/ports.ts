import type { ServerMessage } from "../../../shared/src/protocol/messages.js";

/**
 * What services need from the outside world, as small interfaces: the composition root (server.ts)
 * plugs in the CA and the agent gateway, tests plug in their own.
 */

export interface IssuedCertificate {
  certificatePem: string;
  serialNumber: string;
  notAfter: Date;
}

/** Signs device certificates (CN = device id) from a CSR. Throws on a CSR that is not acceptable. */
export interface DeviceCertificateSigner {
  signDevice(csrPem: string, deviceId: string, now: Date): IssuedCertificate;
  /** PEM of the CA chain an agent must trust and present certificates under. */
  readonly caChainPem: string;
}

/** The live agent sessions, as the services see them. */
export interface AgentPresence {
  isConnected(deviceId: string): boolean;
  /** Ends the device's session (if any) with a close code from shared/protocol/close-codes. */
  disconnect(deviceId: string, code: number, reason: string): void;
}

/** Where enrollment tokens point: the URL agents reach and the CA fingerprint they pin (null: public CA). */
export interface ServerIdentity {
  publicUrl: string;
  caFingerprint: string | null;
}

/** Sending to live agents, for the command dispatcher. */
export interface AgentChannel {
  /** True when the device has a welcomed session that announced this capability. */
  canReceive(deviceId: string, capability: string): boolean;
  /** Sends one message; false when the device has no live session. */
  send(deviceId: string, message: ServerMessage): boolean;
}
