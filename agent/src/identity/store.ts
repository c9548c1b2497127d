import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { PlatformDriver } from "../os/types.js";
import { writeFileAtomic } from "./files.js";

const IdentitySchema = z.object({
  deviceId: z.string(),
  serverUrl: z.string(),
  /** null: the server has a publicly trusted certificate; use the system trust store. */
  caFingerprint: z.string().nullable(),
  enrolledAt: z.string(),
  /** When this agent received its current certificate (local clock): renewal is timed from it. */
  certificateReceivedAt: z.string(),
  certificateExpiresAt: z.string(),
  /** The device whose cloned identity this machine had before it enrolled as itself; sent in hello. */
  clonedFrom: z.string().optional(),
});
export type IdentityInfo = z.infer<typeof IdentitySchema>;

export interface Identity extends IdentityInfo {
  keyPem: string;
  certificatePem: string;
  caPem: string;
}

/**
 * The device's identity in its state directory: identity.json, device.pem (private key and
 * certificate in one file, so a renewal replaces both in one atomic rename; the key never leaves the
 * machine) and ca.crt. Private files are restricted to the service account and administrators by the
 * platform driver (0600, or an ACL on Windows).
 */
export class IdentityStore {
  readonly paths: { info: string; credentials: string; ca: string };

  constructor(
    readonly stateDir: string,
    private readonly platform: PlatformDriver,
  ) {
    this.paths = {
      info: join(stateDir, "identity.json"),
      credentials: join(stateDir, "device.pem"),
      ca: join(stateDir, "ca.crt"),
    };
  }

  async load(): Promise<Identity | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.paths.info, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const info = IdentitySchema.parse(JSON.parse(raw));
    const [credentials, caPem] = await Promise.all([readFile(this.paths.credentials, "utf8"), readFile(this.paths.ca, "utf8")]);
    return { ...info, ...splitCredentials(credentials), caPem };
  }

  /**
   * Saves a whole identity. identity.json is written last: it is what marks the directory as enrolled,
   * so an interrupted save looks like "not enrolled" rather than a key without its certificate.
   */
  async save(identity: Identity): Promise<void> {
    await this.platform.restrictDirectory(this.stateDir).catch(() => undefined);
    await this.saveCredentials(identity.keyPem, identity.certificatePem);
    await writeFileAtomic(this.paths.ca, identity.caPem, 0o644);
    const { keyPem: _k, certificatePem: _c, caPem: _ca, ...info } = identity;
    await writeFileAtomic(this.paths.info, JSON.stringify(info, null, 2) + "\n");
    await this.platform.restrictFile(this.paths.info);
  }

  /** Replaces key and certificate together (renewal); identity.json's dates follow with save(). */
  async saveCredentials(keyPem: string, certificatePem: string): Promise<void> {
    await writeFileAtomic(this.paths.credentials, keyPem.trimEnd() + "\n" + certificatePem.trimEnd() + "\n");
    await this.platform.restrictFile(this.paths.credentials);
  }

  /** Forgets the identity (device deleted, or preparing a machine image). Other state is kept. */
  async wipe(): Promise<void> {
    await rm(this.paths.info, { force: true });
    await Promise.all([this.paths.credentials, this.paths.ca].map((p) => rm(p, { force: true })));
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

function splitCredentials(text: string): { keyPem: string; certificatePem: string } {
  let keyPem: string | undefined;
  let certificatePem: string | undefined;
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1]!.endsWith("PRIVATE KEY")) keyPem = match[0] + "\n";
    else if (match[1] === "CERTIFICATE") certificatePem = match[0] + "\n";
  }
  if (!keyPem || !certificatePem) throw new Error("device.pem must hold the device's private key and certificate");
  return { keyPem, certificatePem };
}
