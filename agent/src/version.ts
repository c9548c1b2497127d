import { readFileSync } from "node:fs";

declare const __TETHER_AGENT_VERSION__: string | undefined;

/**
 * The agent's version: baked in at build time for the native binary (esbuild --define), read from
 * package.json when running from source.
 */
export const AGENT_VERSION: string =
  typeof __TETHER_AGENT_VERSION__ === "string"
    ? __TETHER_AGENT_VERSION__
    : (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
