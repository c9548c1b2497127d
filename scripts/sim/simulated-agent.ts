import WebSocket from "ws";
import type { Hello, InventoryMessage } from "../../shared/src/protocol/messages.js";
import { PROTOCOL_VERSION } from "../../shared/src/protocol/version.js";

/**
 * One lightweight simulated agent: a real mTLS WebSocket with its own enrolled certificate that
 * says hello, sends a small inventory and answers pings (ws does that by itself). Nothing else.
 */
export function connectSimulatedAgent(options: {
  url: string;
  caPem: string;
  keyPem: string;
  deviceId: string;
  certificatePem: string;
  localAddress: string;
  sendInventory: boolean;
  /** Answer every exec.run at once with a successful result, as a very fast agent would. */
  answerCommands?: boolean;
}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${options.url.replace(/^https/, "wss")}/agent/v1/connect`, {
      ca: options.caPem,
      key: options.keyPem,
      cert: options.certificatePem,
      localAddress: options.localAddress,
      perMessageDeflate: false,
      handshakeTimeout: 60_000,
    });
    ws.once("open", () => ws.send(JSON.stringify(hello(options.deviceId, options.answerCommands === true))));
    ws.once("message", (data) => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type !== "welcome") {
        reject(new Error(`expected welcome, got ${message.type}`));
        ws.terminate();
        return;
      }
      if (options.sendInventory) ws.send(JSON.stringify(inventory(options.deviceId)));
      if (options.answerCommands) ws.on("message", (raw) => answer(ws, raw.toString()));
      resolve(ws);
    });
    ws.once("error", reject);
    ws.once("close", (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)));
  });
}

/** Replies to exec.run with started + a successful result, immediately. */
function answer(ws: WebSocket, raw: string): void {
  const message = JSON.parse(raw) as { type: string; execution?: { executionId: string } };
  if (message.type !== "exec.run" || !message.execution) return;
  const executionId = message.execution.executionId;
  const now = new Date().toISOString();
  ws.send(JSON.stringify({ type: "exec.started", executionId, startedAt: now }));
  ws.send(
    JSON.stringify({
      type: "exec.result",
      executionId,
      status: "succeeded",
      exitCode: 0,
      stdout: "hi\n",
      stderr: "",
      stdoutTruncated: false,
      stderrTruncated: false,
      startedAt: now,
      finishedAt: new Date().toISOString(),
      error: null,
    }),
  );
}

function hello(deviceId: string, commands: boolean): Hello {
  return {
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: "0.0.0-sim",
    deviceId,
    capabilities: commands ? ["inventory", "commands"] : ["inventory"],
    os: { platform: "linux", arch: "x64", hostname: `sim-${deviceId.slice(-8)}` },
    machine: { machineId: deviceId.slice(-32).padStart(32, "0"), macs: [] },
  };
}

function inventory(deviceId: string): InventoryMessage {
  return {
    type: "inventory",
    inventory: {
      hostname: `sim-${deviceId.slice(-8)}`,
      os: { platform: "linux", distro: "Debian GNU/Linux", release: "12", kernel: "6.1.0", arch: "x64" },
      system: { manufacturer: "Simulated", model: "Agent" },
      cpu: { manufacturer: "Sim", brand: "Sim CPU", cores: 2, physicalCores: 2 },
      memory: { totalBytes: 4 * 2 ** 30 },
      disks: [],
      filesystems: [{ mount: "/", fsType: "ext4", sizeBytes: 32 * 2 ** 30, usedBytes: 8 * 2 ** 30 }],
      network: [{ iface: "eth0", mac: "02:00:00:00:00:01", ipv4: ["10.0.0.1"], ipv6: [], internal: false }],
      bootTime: "2026-01-01T00:00:00.000Z",
      users: [],
    },
  };
}
