/**
 * The agent ↔ control-plane protocol version: one integer, bumped whenever a message is added or
 * changes meaning. Both ends send it in `hello` / `welcome`; the control plane serves every version
 * from MIN_SUPPORTED_PROTOCOL_VERSION up to PROTOCOL_VERSION and refuses older agents with
 * CloseCode.UnsupportedProtocol, so an old agent learns why it was turned away.
 *
 * Changelog (one line per bump):
 *   1 (2026-11-29): hello/welcome, inventory, cert.renew/cert.renewed, error.
 *   2 (2026-11-29): commands — exec.run/exec.cancel/exec.ack, exec.started/exec.output/exec.result.
 */
export const PROTOCOL_VERSION = 2;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

/**
 * Capabilities are feature names exchanged in hello/welcome. A side uses a feature only when both
 * sides listed it, so features can roll out without bumping PROTOCOL_VERSION for every one.
 */
export const Capability = {
  Inventory: "inventory",
  CertRenewal: "cert-renewal",
  /** The agent runs scripts (exec.* messages). An agent without it never gets executions. */
  Commands: "commands",
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];
export const ALL_CAPABILITIES: readonly Capability[] = Object.values(Capability);
