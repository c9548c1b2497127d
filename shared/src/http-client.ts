import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { TLSSocket } from "node:tls";
import { asUnreachable, timeoutError, TlsTrustError } from "./net-errors.js";

export interface JsonRequest {
  url: string;
  method?: string;
  /** Sent as JSON; absent means no body. */
  body?: unknown;
  /** Sent as is (set the content-type header yourself), instead of a JSON body. */
  rawBody?: Buffer;
  headers?: Record<string, string>;
  /** PEM of the only CA to trust; absent means the system trust store. */
  ca?: string;
  /** Client certificate and key (PEM) for mutual TLS; absent means none is offered. */
  cert?: string;
  key?: string;
  /** Deadline for the whole exchange, from connecting to the last byte of the response. */
  timeoutMs?: number;
  /** Told as the body goes out (bytes handed to the socket so far, of the total), for progress bars. */
  onUploadProgress?: (sent: number, total: number) => void;
}

export interface JsonResponse<T> {
  status: number;
  /** The parsed JSON body, not validated (run it through a schema); undefined when the body is empty or not JSON. */
  body: T | undefined;
  /** The raw body text, for error messages when it is not JSON. */
  text: string;
  headers: IncomingHttpHeaders;
}

/**
 * One JSON request over HTTP(S). Resolves for every HTTP status; rejects with ServerUnreachableError
 * when the server cannot be reached in time and TlsTrustError when its certificate is not trusted.
 */
export async function requestJson<T>(req: JsonRequest): Promise<JsonResponse<T>> {
  const url = new URL(req.url);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`only http:// and https:// URLs are supported, not ${url.protocol}//`);
  }
  const timeoutMs = req.timeoutMs ?? 15_000;
  const payload = req.rawBody ?? (req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body), "utf8"));
  const headers: Record<string, string> = {
    accept: "application/json",
    ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}),
    ...req.headers,
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const tlsOptions = url.protocol === "https:" ? { ca: req.ca, cert: req.cert, key: req.key } : {};

  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method: req.method ?? "GET", headers, ...tlsOptions });
    // Settling twice is harmless, so every path may call fail(): the first reason wins.
    const fail = (error: unknown) => {
      clearTimeout(timer);
      outgoing.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(timeoutError(url, timeoutMs)), timeoutMs);
    outgoing.on("error", (error) => fail(classify(error, url, outgoing.socket)));
    outgoing.once("response", (response) => {
      readBody(response).then((text) => {
        clearTimeout(timer);
        // The server answered before taking the whole body (a 413, say): stop sending the rest.
        if (!outgoing.writableEnded) outgoing.destroy();
        resolve({ status: response.statusCode ?? 0, body: parseJson<T>(text), text, headers: response.headers });
      }, (error: unknown) => fail(asUnreachable(error, url)));
    });
    if (payload && req.onUploadProgress) writeInChunks(outgoing, payload, req.onUploadProgress);
    else outgoing.end(payload);
  });
}

const UPLOAD_CHUNK = 64 * 1024;

/** Writes the body a chunk at a time, waiting for the socket to drain, so progress follows the network. */
function writeInChunks(outgoing: ClientRequest, payload: Buffer, progress: (sent: number, total: number) => void): void {
  let sent = 0;
  const writeMore = () => {
    while (sent < payload.length) {
      const chunk = payload.subarray(sent, sent + UPLOAD_CHUNK);
      sent += chunk.length;
      const flowing = outgoing.write(chunk);
      progress(sent, payload.length);
      if (!flowing) {
        outgoing.once("drain", writeMore);
        return;
      }
    }
    outgoing.end();
  };
  writeMore();
}

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson<T>(text: string): T | undefined {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function classify(error: Error, url: URL, socket: unknown): unknown {
  // Node sets authorizationError just before it drops a connection for failing verification, which
  // separates "not trusted" from every other TLS or socket failure.
  if (socket instanceof TLSSocket && socket.authorizationError) {
    const code = String((error as NodeJS.ErrnoException).code ?? socket.authorizationError);
    return new TlsTrustError(url.href, code, TRUST_REASONS[code] ?? error.message, { cause: error });
  }
  return asUnreachable(error, url);
}

const NOT_SIGNED_BY_TRUSTED_CA = "it is not signed by a trusted CA";
const TRUST_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "it is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: NOT_SIGNED_BY_TRUSTED_CA,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: NOT_SIGNED_BY_TRUSTED_CA,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: NOT_SIGNED_BY_TRUSTED_CA,
  CERT_HAS_EXPIRED: "it has expired",
  CERT_NOT_YET_VALID: "it is not valid yet (check this machine's clock)",
  ERR_TLS_CERT_ALTNAME_INVALID: "it was issued for another host name",
};
