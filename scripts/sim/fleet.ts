import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateCsrForKey } from "../../agent/src/identity/csr.js";
import { dataPaths, initialisedMarker } from "../../control-plane/src/data-dir.js";
import { initDataDir, type InitResult } from "../../control-plane/src/init.js";
import { decodeConnectKey } from "../../shared/src/connect-key.js";
import { requestJson } from "../../shared/src/http-client.js";
import type { SimIdentity } from "./protocol.js";

/** Initialises a benchmark's data dir once and returns its credentials. */
export function ensureInitialised(dir: string, url: string): InitResult {
  const file = join(dir, "credentials.json");
  if (!initialisedMarker(dataPaths(dir))) {
    const result = initDataDir(dir, url);
    writeFileSync(file, JSON.stringify(result), { mode: 0o600 });
  }
  return JSON.parse(readFileSync(file, "utf8")) as InitResult;
}

/**
 * Enrolled simulated devices, kept in a JSON-lines file and topped up to `needed` over REST, so later
 * runs reuse them.
 */
export async function ensureIdentities(path: string, needed: number, credentials: InitResult, keyPem: string, caPem: string, url: string): Promise<SimIdentity[]> {
  const have: SimIdentity[] = existsSync(path)
    ? readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as SimIdentity)
    : [];
  if (have.length >= needed) return have;
  // The server names the device itself and ignores the CSR's subject, so one CSR serves every enrollment.
  const csrPem = generateCsrForKey("sim", keyPem);
  const secret = decodeConnectKey(credentials.connectKey).secret;
  const missing = needed - have.length;
  console.log(`enrolling ${missing} simulated devices…`);
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < missing) {
      const i = next++;
      const response = await requestJson<{ deviceId: string; certificatePem: string }>({
        url: `${url}/agent/v1/enroll`,
        method: "POST",
        ca: caPem,
        body: { connectKeySecret: secret, csrPem, hostname: `sim-${have.length + i}`, platform: "linux" },
      });
      if (response.status !== 201 || !response.body) throw new Error(`enrollment failed: ${response.status} ${response.text}`);
      const identity = { deviceId: response.body.deviceId, certificatePem: response.body.certificatePem };
      have.push(identity);
      appendFileSync(path, JSON.stringify(identity) + "\n");
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  const seconds = (performance.now() - started) / 1000;
  console.log(`enrolled ${missing} in ${seconds.toFixed(1)} s (${((seconds * 1000) / missing).toFixed(2)} ms each)`);
  return have;
}

