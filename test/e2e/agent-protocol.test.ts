import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode } from "../../shared/src/protocol/close-codes.js";
import { generateKeyAndCsr } from "../../agent/src/identity/csr.js";
import { createCa } from "../../control-plane/src/pki/ca.js";
import { signDeviceCsr } from "../../control-plane/src/pki/device-certificate.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { enrollRaw, hello, openRaw } from "../helpers/raw-agent.js";
import { waitFor } from "../helpers/wait.js";

// The agent WebSocket, driven frame by frame: mTLS admission, validation of every message, version
// negotiation and clone detection. The server must answer bad input with errors, never crash.
describe("agent protocol", () => {
  let cp: TestControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterAll(async () => {
    await cp.cleanup();
  });

  it("refuses a connection without a client certificate, and one from another CA", async () => {
    await expect(openRaw(cp, null)).rejects.toMatchObject({ status: 401 });

    const otherCa = createCa({ commonName: "someone else's CA" });
    const { keyPem, csrPem } = generateKeyAndCsr("x");
    const forged = signDeviceCsr(otherCa, csrPem, { deviceId: "dev_0000000000forged", validitySeconds: 3600 });
    const refusal = await openRaw(cp, { keyPem, certificatePem: forged.certificatePem }).catch((e: { status: number; body: string }) => e);
    expect(refusal).toMatchObject({ status: 401 });
    expect((refusal as { body: string }).body).toContain("not issued by this control plane");
  });

  it("answers malformed frames with error messages and keeps the session", async () => {
    const device = await enrollRaw(cp, "fuzzed");
    const session = await openRaw(cp, device);

    session.send("this is not json");
    expect(await session.next("error")).toMatchObject({ code: "bad_json" });
    session.send({ type: "no-such-message" });
    expect(await session.next("error")).toMatchObject({ code: "unknown_type" });
    session.send({ type: "cert.renew", requestId: "r1", csrPem: "-----BEGIN CERTIFICATE REQUEST-----" });
    expect(await session.next("error")).toMatchObject({ code: "hello_required" });
    session.send(hello(device.deviceId, { capabilities: "not-a-list" }));
    const invalid = await session.next("error");
    expect(invalid).toMatchObject({ code: "invalid_message" });
    expect(String(invalid.message)).toContain("capabilities");
    session.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await session.next("error")).toMatchObject({ code: "binary_frame" });

    session.send(hello(device.deviceId));
    const welcome = await session.next("welcome");
    expect(welcome).toMatchObject({ deviceId: device.deviceId, protocolVersion: 1 });
    session.send(hello(device.deviceId));
    expect(await session.next("error")).toMatchObject({ code: "duplicate_hello" });
    session.send({ type: "inventory", inventory: { hostname: 42 } });
    expect(await session.next("error")).toMatchObject({ code: "invalid_message" });

    expect((await cp.api("GET", `/api/v1/devices/${device.deviceId}`)).body.status).toBe("online");
    session.ws.close();
    expect((await cp.api("GET", "/api/v1/health", undefined, null)).status).toBe(200);
  });

  it("closes with a clear reason when the hello names another device or an unsupported version", async () => {
    const device = await enrollRaw(cp, "versions");
    const other = await openRaw(cp, device);
    other.send(hello("dev_0000000000somebodyelse"));
    expect(await other.closed).toMatchObject({ code: CloseCode.ProtocolError });

    const old = await openRaw(cp, device);
    old.send(hello(device.deviceId, { protocolVersion: 0 }));
    const closed = await old.closed;
    expect(closed.code).toBe(CloseCode.UnsupportedProtocol);
    expect(closed.reason).toMatch(/upgrade the agent/);
  });

  it("detects a cloned identity presented by another machine and refuses it", async () => {
    const device = await enrollRaw(cp, "original");
    const original = await openRaw(cp, device);
    original.send(hello(device.deviceId, { machine: { machineId: "1".repeat(32), serial: "SER-1", macs: ["02:00:00:00:00:01"] } }));
    await original.next("welcome");

    const clone = await openRaw(cp, device);
    clone.send(hello(device.deviceId, { machine: { machineId: "2".repeat(32), serial: "SER-2", macs: ["02:00:00:00:00:02"] } }));
    const closed = await clone.closed;
    expect(closed.code).toBe(CloseCode.CloneDetected);

    const stored = (await cp.api("GET", `/api/v1/devices/${device.deviceId}`)).body;
    expect(stored.cloneSuspectedAt).not.toBeNull();
    expect(stored.status).toBe("online");
    const events = (await cp.api("GET", `/api/v1/events?filter=action:eq:device.clone-detected&filter=objectId:eq:${device.deviceId}`)).body;
    expect(events.results[0].details).toMatchObject({ originalConnected: true });

    // The same machine reconnecting (new MACs from a dock, same machine id) replaces the old session.
    const again = await openRaw(cp, device);
    again.send(hello(device.deviceId, { machine: { machineId: "1".repeat(32), serial: "SER-1", macs: ["02:00:00:00:00:09"] } }));
    await again.next("welcome");
    expect((await original.closed).code).toBe(CloseCode.Replaced);
    again.ws.close();
  });

  it("tells a deleted device's session why it ends, and refuses it afterwards", async () => {
    const device = await enrollRaw(cp, "doomed");
    const session = await openRaw(cp, device);
    session.send(hello(device.deviceId));
    await session.next("welcome");
    await cp.api("DELETE", `/api/v1/devices/${device.deviceId}`);
    expect((await session.closed).code).toBe(CloseCode.DeviceRevoked);

    const retry = await openRaw(cp, device);
    expect((await retry.closed).code).toBe(CloseCode.DeviceRevoked);
  });

  it("tracks presence: offline after the socket closes, with the last contact time", async () => {
    const device = await enrollRaw(cp, "presence");
    const session = await openRaw(cp, device);
    session.send(hello(device.deviceId));
    await session.next("welcome");
    const online = (await cp.api("GET", `/api/v1/devices?filter=status:eq:online&filter=hostname:eq:raw-agent`)).body;
    expect(online.results.map((d: { id: string }) => d.id)).toContain(device.deviceId);
    session.ws.close();
    const offline = await waitFor(async () => {
      const d = (await cp.api("GET", `/api/v1/devices/${device.deviceId}`)).body;
      return d.status === "offline" ? d : false;
    });
    expect(Date.parse(offline.lastContact)).toBeGreaterThan(Date.now() - 60_000);
  });
});
