import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeConnectKey } from "../../shared/src/connect-key.js";
import { requestJson } from "../../shared/src/http-client.js";
import { createCa } from "../../control-plane/src/pki/ca.js";
import { issueServerCertificate } from "../../control-plane/src/pki/server-certificate.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { startAgent } from "../helpers/agent.js";
import { waitFor } from "../helpers/wait.js";

// With --tls-cert/--tls-key the server presents a certificate from a CA the machines already trust;
// connect keys then carry no pin and agents verify with the system trust store. Here the "public" CA
// is made trusted for the agent process with NODE_EXTRA_CA_CERTS, as an OS trust store would.
describe("control plane with a certificate from another CA", () => {
  let cp: TestControlPlane;
  let dir: string;
  let publicCaFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-public-ca-"));
    const publicCa = createCa({ commonName: "A public CA" });
    const server = issueServerCertificate(publicCa, { hosts: ["127.0.0.1", "localhost"] });
    publicCaFile = join(dir, "public-ca.crt");
    await writeFile(publicCaFile, publicCa.certPem);
    await writeFile(join(dir, "server.crt"), server.certPem + publicCa.certPem);
    await writeFile(join(dir, "server.key"), server.keyPem, { mode: 0o600 });
    cp = await startControlPlane({ env: { TETHER_TLS_CERT: join(dir, "server.crt"), TETHER_TLS_KEY: join(dir, "server.key") } });
  });
  afterAll(async () => {
    await cp.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it("issues connect keys without a pin, and agents trusting the system store enroll and connect", async () => {
    const created = await requestWithPublicCa(cp, publicCaFile);
    const key = decodeConnectKey(created.connectKey);
    expect(key.caFingerprint).toBeNull();

    const agent = await startAgent({ args: ["run", "--connect-key", created.connectKey], env: { NODE_EXTRA_CA_CERTS: publicCaFile } });
    try {
      const device = await waitFor(async () => {
        const list = await fetchDevices(cp, publicCaFile);
        return list.results.find((d: { status: string }) => d.status === "online");
      }, { timeoutMs: 20_000, message: `an online device; agent log:\n${agent.logs()}` });
      expect(device.os).toBe("linux");
    } finally {
      await agent.stop();
    }

    // Without the CA in its trust store, the agent refuses the server and says why.
    const untrusting = await startAgent({ args: ["run", "--connect-key", created.connectKey] });
    expect((await untrusting.exited).code).toBe(4);
    expect(untrusting.logs()).toMatch(/not trusted/);
  });
});

async function requestWithPublicCa(cp: TestControlPlane, caFile: string) {
  const response = await requestJson<{ connectKey: string }>({
    url: `${cp.url}/api/v1/connect-keys`,
    method: "POST",
    body: { name: "public" },
    ca: await readFile(caFile, "utf8"),
    headers: { "x-api-key": cp.adminApiKey },
  });
  expect(response.status).toBe(201);
  return response.body!;
}

async function fetchDevices(cp: TestControlPlane, caFile: string) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const response = await requestJson<any>({ url: `${cp.url}/api/v1/devices`, ca: await readFile(caFile, "utf8"), headers: { "x-api-key": cp.adminApiKey } });
  return response.body;
}
