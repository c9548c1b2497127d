import { availableParallelism } from "node:os";

/** Limits of the CSV import, from TETHER_* environment variables (docs/directory.md lists them). */
export interface ImportConfig {
  /** Largest file accepted, as given (TETHER_MAX_IMPORT, default 20mb), for messages. */
  maxBytesText: string;
  maxBytes: number;
  /** Most rows (after the header) in one file (TETHER_MAX_IMPORT_ROWS, default 50000). */
  maxRows: number;
  /** Passwords hashed at once: scrypt runs on libuv's pool, so more than the cores only queues. */
  hashConcurrency: number;
}

export const DEFAULT_MAX_IMPORT = "20mb";
export const DEFAULT_MAX_IMPORT_ROWS = 50_000;

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `20mb`, `512kb`, `1048576` (bytes): body-parser's syntax, 1024-based. */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a size such as 20mb, 512kb or 1048576`);
  return Math.floor(Number(match[1]) * UNITS[(match[2] ?? "b").toLowerCase()]!);
}

export function loadImportConfig(env: NodeJS.ProcessEnv): ImportConfig {
  const maxBytesText = env.TETHER_MAX_IMPORT || DEFAULT_MAX_IMPORT;
  let maxBytes: number;
  try {
    maxBytes = parseByteSize(maxBytesText);
  } catch (error) {
    throw new Error(`TETHER_MAX_IMPORT: ${(error as Error).message}`);
  }
  const rows = env.TETHER_MAX_IMPORT_ROWS || String(DEFAULT_MAX_IMPORT_ROWS);
  if (!/^\d+$/.test(rows) || Number(rows) < 1) throw new Error(`TETHER_MAX_IMPORT_ROWS: "${rows}" must be a whole number of at least 1`);
  return { maxBytesText, maxBytes, maxRows: Number(rows), hashConcurrency: Math.max(1, Math.min(4, availableParallelism())) };
}
