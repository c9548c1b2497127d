import { asUnreachable, ServerUnreachableError } from "../../../shared/src/net-errors.js";

const TLS_TRUST_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** One sentence an admin can act on, for a failed connection attempt. */
export function describeConnectError(error: Error, serverUrl: string): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (TLS_TRUST_CODES.has(code)) {
    return `the server's certificate is not the one this agent trusts (${code}): the control plane's CA changed or something is intercepting; re-enroll if the CA was replaced`;
  }
  const unreachable = asUnreachable(error, new URL(serverUrl));
  if (unreachable instanceof ServerUnreachableError) return unreachable.message;
  return error.message;
}
