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

/** What clients see of the server's TLS, for the install scripts and their one-liners. */
export interface ServerTls {
  /** PEM of the certificate the server presents (the leaf). */
  certificatePem: string;
  /** PEM of the server's own CA when its certificate comes from it; null with a publicly trusted one (`--tls-cert`). */
  caPem: string | null;
}

/** Sending to live agents, for the command dispatcher. */
export interface AgentChannel {
  /** True when the device has a welcomed session that announced this capability. */
  canReceive(deviceId: string, capability: string): boolean;
  /** Sends one message; false when the device has no live session. */
  send(deviceId: string, message: ServerMessage): boolean;
}

/**
 * Told about directory changes that may alter which users a device should have, so the devices'
 * desired-state revisions move (DESIGN.md, principle 1). Implemented by DeviceRevisions
 * (services/device-revisions.ts). Call it inside the transaction of the change, after the change is
 * written — deletions included: for a deleted user it bumps the devices the user's bindings and
 * group memberships reached, then removes those edges.
 */
export interface DirectoryChangeListener {
  /**
   * Any change to these users that devices see: created or deleted, state (suspend/activate), sudo or
   * passwordless sudo, SSH keys, unix uid/gid, shell, username. Unknown or unbound ids are ignored.
   */
  usersChanged(userIds: readonly string[]): void;
}

/** Told before device-group membership changes, inside the same transaction (DeviceRevisions). */
export interface DeviceGroupChangeListener {
  /** Before devices join (`joining`) or leave the group; returns how many devices' revisions moved. */
  deviceGroupMembersChanging(groupId: string, deviceIds: readonly string[], joining: boolean): number;
  /** Before the group is deleted (its members leave it); returns how many devices' revisions moved. */
  deviceGroupDeleting(groupId: string): number;
}

/** Sends plain-text mail (activation links); the composition root plugs in SMTP when it is configured. */
export interface Mailer {
  /** Resolves once the server accepted the message; rejects with the reason it did not. */
  send(mail: { to: string; subject: string; text: string }): Promise<void>;
}
