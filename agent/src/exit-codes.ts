/**
 * Exit statuses of `tether-agent`, documented in docs/agent.md. A service manager restarts the agent
 * on any non-zero status except the ones that say "retrying is pointless" (systemd's
 * RestartPreventExitStatus lists them).
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  /** The control plane refused the connect key (unknown, revoked, expired or used up). */
  EnrollmentRefused: 3,
  /** The server did not present the CA the connect key pins. */
  CaPinMismatch: 4,
  /** No identity and no connect key: nothing to connect with. */
  NotEnrolled: 5,
  /** An admin deleted this device; the identity was wiped. */
  DeviceRevoked: 10,
  /** The server does not know this device (e.g. restored from an older backup). */
  UnknownDevice: 11,
  /** The server does not serve this agent's protocol version: upgrade the agent. */
  UnsupportedProtocol: 12,
  /** This identity is in use on another machine; re-enroll this one. */
  CloneDetected: 13,
  /** Another agent process on this machine connected with the same identity and took over. */
  ReplacedByAnotherInstance: 14,
  /** The device certificate expired (the agent was off for longer than its lifetime): re-enroll. */
  CertificateExpired: 15,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Statuses after which restarting the agent cannot help until someone acts (a usable key, a new
 * enrollment, an upgrade): service managers that can tell statuses apart do not restart on these
 * (systemd's RestartPreventExitStatus). Not listed: CaPinMismatch, since a captive portal or an
 * intercepting proxy causes it for a while, and ReplacedByAnotherInstance, so that the service wins back
 * from a copy someone ran by hand.
 */
export const NO_RESTART_EXIT_CODES: readonly ExitCode[] = [
  ExitCode.Usage,
  ExitCode.EnrollmentRefused,
  ExitCode.NotEnrolled,
  ExitCode.DeviceRevoked,
  ExitCode.UnknownDevice,
  ExitCode.UnsupportedProtocol,
  ExitCode.CloneDetected,
  ExitCode.CertificateExpired,
];
