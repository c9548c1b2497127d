/**
 * Durations in settings and flags: a number with a unit, `30s`, `15m`, `12h`, `90d` (a bare number is
 * seconds). Returns seconds; throws with a message that says the accepted form.
 */
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

export function parseDuration(text: string): number {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration; write it like 30s, 15m, 12h or 90d`);
  const seconds = Number(match[1]) * UNITS[match[2] || "s"]!;
  if (seconds <= 0) throw new Error(`"${text}" must be longer than zero`);
  return seconds;
}
