import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import { checkServerIdentity } from "node:tls";

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/**
 * One GET over HTTPS, answering whatever status comes. `path` is sent exactly as given (`..`, `%2F`
 * and all), which a URL would normalise; `ca` is the only CA trusted. The certificate is checked
 * against the host connected to, even when a test sends another Host header.
 */
export function httpsGet(origin: string, path: string, options: { ca: string; headers?: Record<string, string> }): Promise<RawResponse> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const checkIdentity = (_name: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(host, cert);
    const req = request({ host, port: url.port, path, method: "GET", ca: options.ca, headers: options.headers, checkServerIdentity: checkIdentity }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
      });
    });
    req.on("error", reject);
    req.end();
  });
}
