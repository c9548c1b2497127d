import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { TLSSocket } from "node:tls";
import { CliError } from "../../../shared/src/cli/run-cli.js";
import { requestJson, type JsonResponse } from "../../../shared/src/http-client.js";
import { asUnreachable, timeoutError, TlsTrustError } from "../../../shared/src/net-errors.js";
import type { Connection } from "./connection.js";

interface ErrorBody {
  error?: { code?: string; message?: string };
}

/**
 * The REST API under `/api/v1`, as tetherctl uses it. Responses are typed by the domain schemas but not
 * parsed by them: a newer server may add fields, and `--json` prints the body exactly as it came.
 * An HTTP error becomes a CliError carrying the server's own message and code.
 */
export class ApiClient {
  constructor(private readonly connection: Connection) {}

  get url(): string {
    return this.connection.url;
  }

  get<T>(path: string, query?: URLSearchParams): Promise<T> {
    const search = query && query.size > 0 ? `?${query.toString()}` : "";
    return this.send<T>("GET", `${path}${search}`);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>("POST", path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>("PATCH", path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.send<T>("DELETE", path);
  }

  /** Sends raw bytes as application/octet-stream (file uploads); the answer is JSON like any other. */
  upload<T>(path: string, query: URLSearchParams, bytes: Buffer): Promise<T> {
    const { url, apiKey, ca } = this.connection;
    return this.exchange(() =>
      requestBytes<T>({ url: `${url}/api/v1${path}?${query.toString()}`, bytes, ca, headers: apiKey === undefined ? {} : { "x-api-key": apiKey } }),
    );
  }

  private send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { url, apiKey, ca } = this.connection;
    return this.exchange(() =>
      requestJson<T>({
        url: `${url}/api/v1${path}`,
        method,
        body,
        ...(ca === undefined ? {} : { ca }),
        headers: apiKey === undefined ? {} : { "x-api-key": apiKey },
      }),
    );
  }

  private async exchange<T>(request: () => Promise<JsonResponse<T>>): Promise<T> {
    let response: JsonResponse<T>;
    try {
      response = await request();
    } catch (error) {
      // With no CA of its own the client trusts the system store, which never holds Tether's own CA:
      // say how to pin it rather than leave the admin with a bare verification code.
      if (error instanceof TlsTrustError && this.connection.ca === undefined) {
        throw new CliError(`${error.message}; to trust the control plane's own CA, log in with --ca-fingerprint or pass --ca-file`);
      }
      throw error;
    }
    if (response.status >= 400) throw new CliError(describeHttpError(response));
    return response.body as T;
  }
}

/** Uploads may be large and slow links are common: the whole exchange gets minutes, not seconds. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

/**
 * One POST of raw bytes with a JSON answer. The shared requestJson sends only JSON bodies; this is
 * its counterpart for uploads, with the same errors (ServerUnreachableError, TlsTrustError).
 */
function requestBytes<T>(req: { url: string; bytes: Buffer; ca: string | undefined; headers: Record<string, string> }): Promise<JsonResponse<T>> {
  const url = new URL(req.url);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const headers = { accept: "application/json", "content-type": "application/octet-stream", "content-length": String(req.bytes.length), ...req.headers };
  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method: "POST", headers, ...(url.protocol === "https:" ? { ca: req.ca } : {}) });
    const fail = (error: unknown) => {
      clearTimeout(timer);
      outgoing.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(timeoutError(url, UPLOAD_TIMEOUT_MS)), UPLOAD_TIMEOUT_MS);
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      const socket = outgoing.socket;
      if (socket instanceof TLSSocket && socket.authorizationError) {
        const code = String(error.code ?? socket.authorizationError);
        fail(new TlsTrustError(url.href, code, error.message, { cause: error }));
      } else {
        fail(asUnreachable(error, url));
      }
    });
    outgoing.once("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("error", (error) => fail(asUnreachable(error, url)));
      response.once("end", () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: response.statusCode ?? 0, body: parseJson<T>(text), text, headers: response.headers });
      });
    });
    outgoing.end(req.bytes);
  });
}

function parseJson<T>(text: string): T | undefined {
  try {
    return text.trim() === "" ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

/** `<message> (<code>)` from the server's error body, or what can be said without one. */
export function describeHttpError(response: Pick<JsonResponse<unknown>, "status" | "body" | "text">): string {
  const error = (response.body as ErrorBody | undefined)?.error;
  if (error?.message) return `${error.message} (${error.code ?? `HTTP ${response.status}`})`;
  const text = response.text.trim().split("\n")[0]?.slice(0, 200);
  return text ? `the server answered HTTP ${response.status}: ${text}` : `the server answered HTTP ${response.status} without saying why`;
}
