import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeConnectKey, encodeConnectKey } from "../../shared/src/connect-key.js";
import { ExitCode } from "../../agent/src/exit-codes.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runAgentCommand, startAgent, type TestAgent } from "../helpers/agent.js";
import { waitFor } from "../helpers/wait.js";

// A real control plane process and real agent processes: enrollment, presence, inventory,
// reconnection after a crash, certificate renewal, and deletion.
describe("agent lifecycle", () => {
  let cp: TestControlPlane;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ env: { TETHER_HEARTBEAT_INTERVAL: "2s", TETHER_DEVICE_CERT_VALIDITY: "24s" } });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await cp.cleanup();
  });

  async function deviceOf(agent: TestAgent) {
    const info = JSON.parse(await readFile(join(agent.stateDir, "identity.json"), "utf8")) as { deviceId: string };
    return (await cp.api("GET", `/api/v1/devices/${info.deviceId}`)).body;
  }

  it("enrolls with a connect key, comes online with inventory, renews its certificate, survives a server crash and stops when deleted", async () => {
    const agent = await startAgent({ args: ["run", "--connect-key", cp.connectKey, "--group", "ignored-if-missing"].slice(0, 3) });
    agents.push(agent);

    // Online, with an inventory that describes this machine.
    const online = await waitFor(async () => {
      if (!existsSync(join(agent.stateDir, "identity.json"))) return false;
      const device = await deviceOf(agent);
      return device.status === "online" && device.inventory ? device : false;
    }, { timeoutMs: 20_000, message: `device online with inventory; agent log:\n${agent.logs()}` });
    expect(online.os).toBe("linux");
    expect(online.inventory.hostname).toBe(online.hostname);
    expect(online.inventory.memory.totalBytes).toBeGreaterThan(0);

    // The private key is private.
    const { mode } = await import("node:fs/promises").then((fs) => fs.stat(join(agent.stateDir, "device.pem")));
    expect(mode & 0o777).toBe(0o600);

    // `tether-agent status` reads the live state.
    const status = await runAgentCommand(["status", "--json"], agent.stateDir);
    expect(JSON.parse(status.output)).toMatchObject({ enrolled: true, deviceId: online.id, state: "connected" });

    // The certificate lives 24 s; the agent renews it at two thirds (16 s) over the live connection.
    // (Long enough that the renewed one outlives the server restart below on a busy machine.)
    const renewed = await waitFor(async () => {
      const events = (await cp.api("GET", `/api/v1/events?filter=action:eq:device.certificate-renewed&filter=objectId:eq:${online.id}`)).body;
      return events.totalCount > 0 ? events : false;
    }, { timeoutMs: 40_000, message: "a certificate renewal" });
    expect(renewed.results[0].actor).toMatchObject({ type: "agent", id: online.id });
    await waitFor(async () => (await deviceOf(agent)).certificateExpiresAt !== online.certificateExpiresAt, { message: "new expiry stored" });

    // kill -9 the server, then restart it: the agent comes back by itself, on its renewed certificate.
    await cp.kill9();
    await cp.restart();
    await waitFor(async () => (await deviceOf(agent)).status === "online", { timeoutMs: 30_000, message: `reconnect after restart; agent log:\n${agent.logs()}` });
    expect(agent.process.exitCode).toBeNull();

    // Deleting the device ends the agent with its documented status and wipes its identity.
    expect((await cp.api("DELETE", `/api/v1/devices/${online.id}`)).status).toBe(204);
    const exit = await agent.exited;
    expect(exit.code).toBe(ExitCode.DeviceRevoked);
    expect(existsSync(join(agent.stateDir, "identity.json"))).toBe(false);
    expect(existsSync(join(agent.stateDir, "device.pem"))).toBe(false);
    expect(agent.logs()).toContain("deleted");
  });

  it("refuses a connect key that pins another CA, and says so", async () => {
    const real = decodeConnectKey(cp.connectKey);
    const forged = encodeConnectKey({ ...real, caFingerprint: "ab".repeat(32) });
    const agent = await startAgent({ args: ["run", "--connect-key", forged] });
    const exit = await agent.exited;
    expect(exit.code).toBe(ExitCode.CaPinMismatch);
    expect(agent.logs()).toMatch(/pins abab/);
    expect(existsSync(join(agent.stateDir, "identity.json"))).toBe(false);
  });

  it("gives clear errors for unknown, revoked and expired connect keys", async () => {
    const real = decodeConnectKey(cp.connectKey);
    const unknown = encodeConnectKey({ ...real, secret: "A".repeat(43) });
    const revoked = (await cp.api("POST", "/api/v1/connect-keys", { name: "to revoke" })).body;
    await cp.api("DELETE", `/api/v1/connect-keys/${revoked.id}`);
    const expiring = (await cp.api("POST", "/api/v1/connect-keys", { name: "short", expiresInSeconds: 1 })).body;
    await new Promise((resolve) => setTimeout(resolve, 1200));

    const cases: [string, RegExp][] = [
      [unknown, /not known to this control plane/],
      [revoked.connectKey, /was revoked/],
      [expiring.connectKey, /expired/],
      ["tck_not-base64!!", /connect key/],
    ];
    for (const [key, message] of cases) {
      const agent = await startAgent({ args: ["run", "--connect-key", key] });
      const exit = await agent.exited;
      expect(exit.code === ExitCode.EnrollmentRefused || exit.code === ExitCode.Usage, agent.logs()).toBe(true);
      expect(agent.logs()).toMatch(message);
    }
  });

  it("exits with 'not enrolled' when it has neither identity nor connect key", async () => {
    const agent = await startAgent({ args: ["run"] });
    expect((await agent.exited).code).toBe(ExitCode.NotEnrolled);
    expect(agent.logs()).toContain("--connect-key");
  });
});
