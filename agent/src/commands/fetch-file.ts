import { request } from "node:https";
import type { Identity } from "../identity/store.js";

/** Downloads a command attachment from the control plane with the device certificate (mTLS). */
export function fetchAttachment(identity: Identity, sha256: string, timeoutMs = 120_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${identity.serverUrl}/agent/v1/files/${sha256}`,
      { ...(identity.caFingerprint ? { ca: identity.caPem } : {}), cert: identity.certificatePem, key: identity.keyPem, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          if (res.statusCode === 200) resolve(Buffer.concat(chunks));
          else reject(new Error(`the control plane answered ${res.statusCode} for file ${sha256}`));
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`downloading file ${sha256} took longer than ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
