import { CliError } from "../../../shared/src/cli/run-cli.js";
import { requestJson, type JsonRequest, type JsonResponse } from "../../../shared/src/http-client.js";
import { TlsTrustError } from "../../../shared/src/net-errors.js";
import type { Connection } from "./connection.js";

const UPLOAD_TIMEOUT_MS = 10 * 60_000;
/** A user import hashes every password in it (≈0.1 s each on a 2-core server): large files take long. */
const IMPORT_TIMEOUT_MS = 60 * 60_000;

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
    return this.send<T>("POST", `${path}?${query.toString()}`, undefined, { bytes, contentType: "application/octet-stream" });
  }

  /** A GET whose answer is not JSON (a CSV template): its text. */
  async download(path: string, query: URLSearchParams, accept: string): Promise<string> {
    const response = await this.exchange<unknown>("GET", `${path}?${query.toString()}`, { headers: { accept } });
    if (response.status >= 400) throw new CliError(describeHttpError(response));
    return response.text;
  }

  /**
   * Posts a CSV file of users to import, telling `onProgress` as it goes out. Answers the status with
   * the body: an import that failed as a whole (422) still has a result for every row.
   */
  importCsv<T>(path: string, query: URLSearchParams, bytes: Buffer, onProgress?: (sent: number, total: number) => void): Promise<JsonResponse<T>> {
    return this.exchange<T>("POST", `${path}?${query.toString()}`, {
      rawBody: bytes,
      headers: { "content-type": "text/csv; charset=utf-8" },
      timeoutMs: IMPORT_TIMEOUT_MS,
      ...(onProgress ? { onUploadProgress: onProgress } : {}),
    });
  }

  private async send<T>(method: string, path: string, body?: unknown, raw?: { bytes: Buffer; contentType: string }): Promise<T> {
    // Uploads may be large and links slow: they get minutes, not the default seconds.
    const options = raw ? { rawBody: raw.bytes, timeoutMs: UPLOAD_TIMEOUT_MS, headers: { "content-type": raw.contentType } } : { body };
    const response = await this.exchange<T>(method, path, options);
    if (response.status >= 400) throw new CliError(describeHttpError(response));
    return response.body as T;
  }

  /** One request with the connection's URL, key and CA; every HTTP status resolves. */
  private async exchange<T>(method: string, path: string, options: Omit<JsonRequest, "url" | "method" | "ca">): Promise<JsonResponse<T>> {
    const { url, apiKey, ca } = this.connection;
    try {
      return await requestJson<T>({
        ...options,
        url: `${url}/api/v1${path}`,
        method,
        ...(ca === undefined ? {} : { ca }),
        headers: { ...(apiKey === undefined ? {} : { "x-api-key": apiKey }), ...options.headers },
      });
    } catch (error) {
      // With no CA of its own the client trusts the system store, which never holds Tether's own CA:
      // say how to pin it rather than leave the admin with a bare verification code.
      if (error instanceof TlsTrustError && ca === undefined) {
        throw new CliError(`${error.message}; to trust the control plane's own CA, log in with --ca-fingerprint or pass --ca-file`);
      }
      throw error;
    }
  }
}

/** `<message> (<code>)` from the server's error body, or what can be said without one. */
export function describeHttpError(response: Pick<JsonResponse<unknown>, "status" | "body" | "text">): string {
  const error = (response.body as ErrorBody | undefined)?.error;
  if (error?.message) return `${error.message} (${error.code ?? `HTTP ${response.status}`})`;
  const text = response.text.trim().split("\n")[0]?.slice(0, 200);
  return text ? `the server answered HTTP ${response.status}: ${text}` : `the server answered HTTP ${response.status} without saying why`;
}
