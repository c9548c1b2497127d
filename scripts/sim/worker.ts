/**
 * A simulator worker process: holds thousands of simulated agents. Driven by the orchestrator over
 * the IPC channel (see protocol.ts); run with `fork(…, { execArgv: ["--import", "tsx"] })`.
 */
import type WebSocket from "ws";
import type { FromWorker, ToWorker } from "./protocol.js";
import { connectSimulatedAgent } from "./simulated-agent.js";

const sockets: WebSocket[] = [];

function send(message: FromWorker): void {
  process.send!(message);
}

async function connectAll(command: Extract<ToWorker, { cmd: "connect" }>): Promise<void> {
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | null = null;
  const progress = setInterval(() => send({ event: "progress", connected, failed }), 1000);
  const lane = async () => {
    while (next < command.identities.length) {
      const index = next++;
      const identity = command.identities[index]!;
      try {
        const ws = await connectSimulatedAgent({
          url: command.url,
          caPem: command.caPem,
          keyPem: command.keyPem,
          deviceId: identity.deviceId,
          certificatePem: identity.certificatePem,
          localAddress: command.localAddresses[index % command.localAddresses.length]!,
          sendInventory: command.sendInventory,
          answerCommands: command.answerCommands ?? false,
        });
        sockets.push(ws);
        connected++;
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, lane));
  clearInterval(progress);
  send({ event: "connected", connected, failed, firstError, rssBytes: process.memoryUsage.rss() });
}

process.on("message", (message: ToWorker) => {
  if (message.cmd === "connect") void connectAll(message);
  else if (message.cmd === "close") {
    for (const ws of sockets.splice(0)) ws.terminate();
    send({ event: "closed" });
  }
});
process.on("disconnect", () => process.exit(0));
