import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findTool, runTool } from "./tools.js";

/**
 * Authenticode with osslsigncode. Node's node.exe is signed by the OpenJS Foundation; injecting the SEA
 * blob changes the file, so that signature would no longer verify: it is removed before injection, and
 * the finished binary is signed again only when a certificate of ours is configured.
 */

async function osslsigncode(): Promise<string> {
  return findTool(["osslsigncode"], "osslsigncode");
}

export async function removeAuthenticode(input: string, output: string): Promise<void> {
  await runTool(await osslsigncode(), ["remove-signature", "-in", input, "-out", output]);
}

export interface SigningConfig {
  /** A PKCS#12 file with the code-signing certificate and its key. */
  pfx: string;
  password: string;
  /** RFC 3161 timestamp server; without one the signature stops verifying when the certificate expires. */
  timestampUrl?: string;
}

/** The signing configuration from TETHER_SIGN_PFX, TETHER_SIGN_PASSWORD and TETHER_SIGN_TIMESTAMP_URL, if set. */
export function signingConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SigningConfig | undefined {
  if (!env.TETHER_SIGN_PFX) return undefined;
  return { pfx: env.TETHER_SIGN_PFX, password: env.TETHER_SIGN_PASSWORD ?? "", ...(env.TETHER_SIGN_TIMESTAMP_URL ? { timestampUrl: env.TETHER_SIGN_TIMESTAMP_URL } : {}) };
}

/** Signs `file` in place (SHA-256). The password goes through a 0600 file, never the command line. */
export async function signAuthenticode(file: string, config: SigningConfig): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "tether-sign-"));
  try {
    const passFile = join(work, "pass");
    await writeFile(passFile, config.password, { mode: 0o600 });
    const signed = `${file}.signed`;
    const args = ["sign", "-pkcs12", config.pfx, "-readpass", passFile, "-h", "sha256", "-n", "Tether agent", "-in", file, "-out", signed];
    if (config.timestampUrl) args.push("-ts", config.timestampUrl);
    try {
      await runTool(await osslsigncode(), args);
      await rename(signed, file);
    } finally {
      await rm(signed, { force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
