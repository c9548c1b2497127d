/**
 * Errors for talking to a control plane, each with a message an admin can act on. Connection
 * failures are retryable (ServerUnreachableError); trust failures are not, because retrying cannot
 * make an untrusted or wrongly pinned server trustworthy.
 */

/** The server could not be reached or did not answer in time. */
export class ServerUnreachableError extends Error {
  override name = "ServerUnreachableError";

  constructor(
    readonly url: string,
    /** What went wrong, e.g. "nothing is listening at 10.0.0.5:8443". */
    readonly reason: string,
    /** The system error code (ECONNREFUSED, ENOTFOUND, …); absent for a timeout. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach the server at ${url}: ${reason}`, options);
  }
}

/** The server's TLS certificate failed verification. */
export class TlsTrustError extends Error {
  override name = "TlsTrustError";

  constructor(
    readonly url: string,
    /** The OpenSSL verification code (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE) or Node's (ERR_TLS_CERT_ALTNAME_INVALID). */
    readonly code: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`the server's certificate at ${url} is not trusted: ${reason} (${code})`, options);
  }
}

/** The server did not present the CA that a connect key pins. */
export class CaPinMismatchError extends Error {
  override name = "CaPinMismatchError";

  constructor(
    readonly url: string,
    /** Fingerprint of the top of the presented chain; `presentedIsCa` says whether that is a CA at all. */
    readonly presentedFingerprint: string,
    readonly presentedIsCa: boolean,
    readonly pinnedFingerprint: string,
  ) {
    const presented = presentedIsCa
      ? `a CA with fingerprint ${presentedFingerprint}`
      : `no CA certificate (its chain ends at a certificate with fingerprint ${presentedFingerprint})`;
    super(
      `the server at ${url} presented ${presented}, while the connect key pins ${pinnedFingerprint}: ` +
        "the key belongs to another control plane, or someone is intercepting the connection",
    );
  }
}

/**
 * Turns a socket error into a ServerUnreachableError when it means "could not reach the server";
 * returns any other error unchanged.
 */
export function asUnreachable(error: unknown, url: URL): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === undefined ? undefined : unreachableReason(code, url);
  return reason === undefined ? error : new ServerUnreachableError(url.href, reason, code, { cause: error });
}

export function timeoutError(url: URL, timeoutMs: number): ServerUnreachableError {
  return new ServerUnreachableError(url.href, `no answer within ${timeoutMs} ms`);
}

function unreachableReason(code: string, url: URL): string | undefined {
  const host = url.hostname;
  switch (code) {
    case "ECONNREFUSED":
      return `nothing is listening at ${host}:${portOf(url)}`;
    case "ENOTFOUND":
      return `the host name ${host} does not resolve`;
    case "EAI_AGAIN":
      return `the host name ${host} could not be resolved right now (DNS did not answer)`;
    case "ETIMEDOUT":
      return `the connection to ${host}:${portOf(url)} timed out`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `there is no network route to ${host}`;
    case "ECONNRESET":
    case "EPIPE":
      return "the connection was closed before the server answered";
    default:
      return undefined;
  }
}

function portOf(url: URL): string {
  return url.port || (url.protocol === "http:" ? "80" : "443");
}
