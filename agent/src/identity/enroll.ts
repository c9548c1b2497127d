import { X509Certificate } from "node:crypto";
import { decodeConnectKey } from "../../../shared/src/connect-key.js";
import { requestJson } from "../../../shared/src/http-client.js";
import { ServerUnreachableError } from "../../../shared/src/net-errors.js";
import { EnrollResponseSchema, type EnrollRequest } from "../../../shared/src/protocol/enrollment.js";
import { fetchPinnedCa } from "../../../shared/src/tls/pinned-ca.js";
import { generateKeyAndCsr } from "./csr.js";
import type { Identity } from "./store.js";

/** The control plane said no to the connect key or the request; `code` is its stable error code. */
export class EnrollmentRefusedError extends Error {
  override name = "EnrollmentRefusedError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`enrollment refused: ${message} (${code})`);
  }
}

export interface EnrollOptions {
  connectKey: string;
  hostname: string;
  platform: EnrollRequest["platform"];
  displayName?: string | undefined;
  deviceGroups?: string[] | undefined;
  /** Reach the control plane here rather than at the key's URL; the key's CA pin still applies. */
  serverUrl?: string | undefined;
  now?: () => Date;
}

/**
 * Enrolls this machine: trusts the server only through the CA the connect key pins (or the system
 * store when it pins none), makes a fresh key pair whose private half never leaves the machine, and
 * trades a CSR for a device certificate. Returns the identity to save.
 */
export async function enroll(options: EnrollOptions): Promise<Identity> {
  const now = options.now ?? (() => new Date());
  const decoded = decodeConnectKey(options.connectKey);
  const key = { ...decoded, url: options.serverUrl?.replace(/\/+$/, "") ?? decoded.url };
  const caPem = key.caFingerprint ? await fetchPinnedCa(key.url, key.caFingerprint) : undefined;
  const { keyPem, csrPem } = generateKeyAndCsr("tether-enrollment");
  const request: EnrollRequest = {
    connectKeySecret: key.secret,
    csrPem,
    hostname: options.hostname,
    platform: options.platform,
    ...(options.displayName ? { displayName: options.displayName } : {}),
    ...(options.deviceGroups?.length ? { deviceGroups: options.deviceGroups } : {}),
  };
  const response = await requestJson<unknown>({
    url: `${key.url}/agent/v1/enroll`,
    method: "POST",
    body: request,
    ...(caPem ? { ca: caPem } : {}),
  });
  // The server being overloaded or restarting is not a refusal: retry like an unreachable server.
  if (response.status === 429 || response.status >= 500) {
    throw new ServerUnreachableError(key.url, `the server answered ${response.status}; it may be restarting or overloaded`);
  }
  if (response.status !== 201) {
    const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new EnrollmentRefusedError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `the server answered ${response.status} ${response.text.slice(0, 200)}`,
    );
  }
  const enrolled = EnrollResponseSchema.parse(response.body);
  // With a pin, the pinned CA is what the agent trusts from now on. Without one the server is
  // verified by the system store; the returned chain is kept for reference only.
  const chain = caPem ?? enrolled.caChainPem;
  const receivedAt = now().toISOString();
  return {
    deviceId: enrolled.deviceId,
    serverUrl: key.url,
    caFingerprint: key.caFingerprint,
    enrolledAt: receivedAt,
    certificateReceivedAt: receivedAt,
    certificateExpiresAt: new Date(new X509Certificate(enrolled.certificatePem).validTo).toISOString(),
    keyPem,
    certificatePem: enrolled.certificatePem,
    caPem: chain,
  };
}
