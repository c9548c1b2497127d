import { readFileSync } from "node:fs";
import { splitPemChain } from "../../../shared/src/tls/fingerprint.js";
import { usageError } from "./command.js";
import { configPath, readLogin } from "./config.js";

/** Where and how to reach the control plane. */
export interface Connection {
  /** Normalised, without a trailing slash. */
  url: string;
  /** Absent only for the public endpoints (health). */
  apiKey?: string;
  /** PEM of the only CA to trust; absent: the system trust store. */
  ca?: string;
}

/** The global flags that name a connection. */
export interface ConnectionFlags {
  url?: string;
  apiKey?: string;
  caFile?: string;
}

const LOGIN_HINT = 'run "tetherctl login --url https://HOST:8443 --api-key KEY --ca-fingerprint HEX"';

/**
 * Each setting comes from its flag, else its environment variable (TETHER_URL, TETHER_API_KEY,
 * TETHER_CA_FILE), else the saved login. The saved key and CA are used only when the URL is the saved
 * one: `--url` pointed elsewhere must never send the saved key to another server.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv, options: { requireKey: boolean }): Connection {
  const saved = readLogin(configPath(env));
  const rawUrl = firstSet(flags.url, env.TETHER_URL, saved?.url);
  if (rawUrl === undefined) throw usageError(`no control plane URL: ${LOGIN_HINT}, or set TETHER_URL`);
  const url = normaliseUrl(rawUrl);
  const login = saved && normaliseUrl(saved.url) === url ? saved : undefined;

  const apiKey = firstSet(flags.apiKey, env.TETHER_API_KEY, login?.apiKey);
  if (apiKey === undefined && options.requireKey) {
    throw usageError(`no API key for ${url}: ${LOGIN_HINT.replace("https://HOST:8443", url)}, or set TETHER_API_KEY`);
  }
  const caFile = firstSet(flags.caFile, env.TETHER_CA_FILE);
  const ca = caFile === undefined ? login?.caPem : readCaFile(caFile);
  return { url, ...(apiKey === undefined ? {} : { apiKey }), ...(ca === undefined ? {} : { ca }) };
}

/** An empty environment variable counts as unset, as shells make it easy to leave one empty. */
export function firstSet(...values: (string | undefined)[]): string | undefined {
  return values.find((value) => value !== undefined && value !== "");
}

export function normaliseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`"${raw}" is not a URL; write it like https://tether.example.com:8443`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw usageError(`the URL must start with https://, not ${url.protocol}//`);
  return url.href.replace(/\/+$/, "");
}

export function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    throw usageError(`cannot read the CA file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (splitPemChain(pem).length === 0) throw usageError(`${path} holds no PEM certificate`);
  return pem;
}
