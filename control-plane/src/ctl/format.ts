/** How values read in tetherctl's human output. Each returns null for a missing value, which tables show as "-". */

const STEPS: [limit: number, seconds: number, unit: string][] = [
  [60, 1, "s"],
  [3600, 60, "m"],
  [86_400, 3600, "h"],
  [Infinity, 86_400, "d"],
];

/** "just now", "2m ago", "3h ago", "5d ago"; a future time reads "in 7d". */
export function relativeTime(iso: string | null, now: number = Date.now()): string | null {
  if (!iso) return null;
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now - then) / 1000);
  const size = Math.abs(seconds);
  if (size < 5) return "just now";
  const [, unit, name] = STEPS.find(([limit]) => size < limit)!;
  // Elapsed time rounds down and time left rounds up, as clocks and countdowns do: a key made to
  // expire in 7d reads "in 7d", not "in 6d", a moment after it was made.
  const amount = `${seconds > 0 ? Math.floor(size / unit) : Math.ceil(size / unit)}${name}`;
  return seconds > 0 ? `${amount} ago` : `in ${amount}`;
}

/** `2025-01-31 14:05:09Z`: second precision, UTC, marked as such. */
export function timestamp(iso: string | null): string | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** A timestamp followed by how long ago it was, for detail views. */
export function when(iso: string | null, now: number = Date.now()): string | null {
  return iso ? `${timestamp(iso)} (${relativeTime(iso, now)})` : null;
}

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1024-based, one decimal above bytes: "512 B", "1.5 KiB", "16.0 GiB". */
export function bytes(count: number): string {
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${BINARY_UNITS[unit]}`;
}

/** How long something took: "850ms", "4.2s", "3m 05s", "2h 10m". */
export function duration(ms: number | null): string | null {
  if (ms === null) return null;
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}m`;
}
