import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type ServerOptions } from "node:https";
import { createServer as createTcpServer, type Server } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import { CertificateAuthority, createCa } from "../../control-plane/src/pki/ca.js";
import { signDeviceCsr } from "../../control-plane/src/pki/device-certificate.js";
import { issueServerCertificate } from "../../control-plane/src/pki/server-certificate.js";
import { requestJson } from "../../shared/src/http-client.js";
import { ServerUnreachableError, TlsTrustError } from "../../shared/src/net-errors.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

async function listen(server: Server, scheme: string): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `${scheme}://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Answers with the request's method, path, headers, body and client certificate's CN, as JSON. */
const echo: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const text = Buffer.concat(chunks).toString("utf8");
    const socket = req.socket as Partial<TLSSocket>;
    const clientCn = socket.getPeerCertificate?.().subject?.CN;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body: text ? JSON.parse(text) : null, clientCn }));
  });
};

let ca: CertificateAuthority;
let server: { certPem: string; keyPem: string };
beforeAll(() => {
  ca = new CertificateAuthority(createCa({ commonName: "Tether CA" }));
  server = issueServerCertificate(ca, { hosts: ["127.0.0.1"] });
});

function httpsServer(handler: Handler, options: ServerOptions = {}): Promise<string> {
  return listen(createHttpsServer({ cert: server.certPem, key: server.keyPem, ...options }, handler), "https");
}

describe("requestJson over https", () => {
  it("sends and receives JSON, trusting only the given CA", async () => {
    const url = await httpsServer(echo);
    const res = await requestJson<{ method: string; path: string; headers: Record<string, string>; body: unknown }>({
      url: `${url}/api/v1/enroll?x=1`,
      method: "POST",
      body: { name: "Zoë", n: 1 },
      headers: { "x-api-key": "k1" },
      ca: ca.certPem,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ method: "POST", path: "/api/v1/enroll?x=1", body: { name: "Zoë", n: 1 } });
    expect(res.body?.headers).toMatchObject({ "x-api-key": "k1", "content-type": "application/json", accept: "application/json" });
    expect(res.headers["content-type"]).toBe("application/json");
  });

  it("resolves error statuses, and keeps a body that is not JSON as text", async () => {
    const url = await httpsServer((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<h1>Bad gateway</h1>");
    });
    const res = await requestJson({ url, ca: ca.certPem });
    expect(res).toMatchObject({ status: 502, body: undefined, text: "<h1>Bad gateway</h1>" });
  });

  it("presents a device certificate for mutual TLS", async () => {
    const device = generateKeyAndCsr("dev-42");
    const { certificatePem } = signDeviceCsr(ca, device.csrPem, { deviceId: "dev-42", validitySeconds: 3600 });
    const url = await httpsServer(echo, { ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
    const res = await requestJson<{ clientCn: string }>({ url, ca: ca.certPem, cert: certificatePem, key: device.keyPem });
    expect(res.body?.clientCn).toBe("dev-42");
  });

  it("calls a server signed by another CA untrusted, with OpenSSL's code", async () => {
    const other = createCa({ commonName: "Tether CA" });
    const url = await httpsServer(echo);
    const error = await requestJson({ url, ca: other.certPem }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsTrustError);
    expect(error).toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    expect((error as Error).message).toBe(
      `the server's certificate at ${url}/ is not trusted: it is not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
    );
  });

  it("uses the system store when no CA is given, which does not hold Tether's CA", async () => {
    const url = await httpsServer(echo, { cert: server.certPem + ca.certPem });
    const error = await requestJson({ url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsTrustError);
    expect(error).toMatchObject({ code: "SELF_SIGNED_CERT_IN_CHAIN" });
  });

  it("calls a certificate for another host untrusted", async () => {
    const elsewhere = issueServerCertificate(ca, { hosts: ["tether.example.com"] });
    const url = await httpsServer(echo, { cert: elsewhere.certPem, key: elsewhere.keyPem });
    const error = await requestJson({ url, ca: ca.certPem }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsTrustError);
    expect((error as Error).message).toContain("it was issued for another host name (ERR_TLS_CERT_ALTNAME_INVALID)");
  });
});

describe("requestJson failures to connect", () => {
  it("says nothing is listening when the port is closed", async () => {
    const url = await listen(createTcpServer(), "https");
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const error = await requestJson({ url, ca: ca.certPem }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toBe(`cannot reach the server at ${url}/: nothing is listening at ${url.slice("https://".length)}`);
  });

  it("gives up when the server does not answer in time", async () => {
    const url = await listen(createHttpServer(() => undefined), "http");
    const error = await requestJson({ url, timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toContain("no answer within 200 ms");
  });

  it("gives up when the response body stalls", async () => {
    const url = await listen(
      createHttpServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"partial":');
      }),
      "http",
    );
    const error = await requestJson({ url, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toContain("no answer within 300 ms");
  });
});

describe("requestJson over plain http", () => {
  it("works for http:// URLs", async () => {
    const url = await listen(createHttpServer(echo), "http");
    const res = await requestJson<{ method: string }>({ url, method: "DELETE" });
    expect(res).toMatchObject({ status: 200, body: { method: "DELETE" } });
  });

  it("refuses other schemes", async () => {
    await expect(requestJson({ url: "ftp://127.0.0.1/" })).rejects.toThrow(/only http:\/\/ and https:\/\//);
  });
});
