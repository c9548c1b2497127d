/**
 * WebSocket close codes the control plane uses to tell an agent why its session ended. 4000–4999 is
 * the range RFC 6455 leaves to applications. The agent acts on the code, never on the reason text.
 */
export const CloseCode = {
  /** The server is shutting down or restarting: reconnect with backoff. */
  GoingAway: 1001,
  /** The agent broke the protocol (no hello in time, hello invalid): reconnect with backoff. */
  ProtocolError: 4000,
  /** An admin deleted this device: stop, wipe the identity, exit with ExitCode.DeviceRevoked. */
  DeviceRevoked: 4001,
  /** The certificate is valid but the server has no such device (e.g. restored from an old backup). */
  UnknownDevice: 4002,
  /** The agent's protocol version is older than the server serves: upgrade the agent. */
  UnsupportedProtocol: 4003,
  /** The same identity is in use on another machine: this copy must re-enroll with a fresh identity. */
  CloneDetected: 4004,
  /**
   * A newer session of the same device took over this one. An agent only sees this on its current
   * socket when another process uses the same identity, so it stops rather than fight over it.
   */
  Replaced: 4005,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which retrying the same identity is pointless. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.DeviceRevoked,
  CloseCode.UnknownDevice,
  CloseCode.UnsupportedProtocol,
  CloseCode.CloneDetected,
  CloseCode.Replaced,
]);
