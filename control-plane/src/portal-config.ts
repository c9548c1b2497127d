import { parseDuration } from "../../shared/src/duration.js";

/** So many attempts per sliding window. */
export interface RateLimit {
  attempts: number;
  windowSeconds: number;
}

/** Settings of the user portal, from TETHER_* environment variables (docs/directory.md lists them). */
export interface PortalConfig {
  /** How long a portal session lasts (TETHER_PORTAL_SESSION_TTL, default 8h). */
  sessionTtlSeconds: number;
  /** Failed sign-ins in a row that lock the account (TETHER_PORTAL_LOCKOUT_THRESHOLD, default 10). */
  lockoutThreshold: number;
  /** Sign-in attempts per client address (TETHER_PORTAL_LOGIN_RATE_IP, default 30/1m; IPv6 per /64). */
  loginRatePerAddress: RateLimit;
  /** Sign-in attempts per account (TETHER_PORTAL_LOGIN_RATE_ACCOUNT, default 5/1m). */
  loginRatePerAccount: RateLimit;
}

export function loadPortalConfig(env: NodeJS.ProcessEnv): PortalConfig {
  const threshold = env.TETHER_PORTAL_LOCKOUT_THRESHOLD ?? "10";
  if (!/^\d+$/.test(threshold) || Number(threshold) < 1 || Number(threshold) > 1000) {
    throw new Error(`TETHER_PORTAL_LOCKOUT_THRESHOLD: "${threshold}" must be a whole number from 1 to 1000`);
  }
  return {
    sessionTtlSeconds: setting("TETHER_PORTAL_SESSION_TTL", env.TETHER_PORTAL_SESSION_TTL ?? "8h", parseDuration),
    lockoutThreshold: Number(threshold),
    loginRatePerAddress: setting("TETHER_PORTAL_LOGIN_RATE_IP", env.TETHER_PORTAL_LOGIN_RATE_IP ?? "30/1m", parseRate),
    loginRatePerAccount: setting("TETHER_PORTAL_LOGIN_RATE_ACCOUNT", env.TETHER_PORTAL_LOGIN_RATE_ACCOUNT ?? "5/1m", parseRate),
  };
}

/** `N/DURATION`: at most N attempts in any DURATION (`30/1m`, `100/1h`). */
export function parseRate(text: string): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
  if (!match || Number(match[1]) < 1) throw new Error(`"${text}" is not a rate; write it like 30/1m (at most 30 attempts a minute)`);
  return { attempts: Number(match[1]), windowSeconds: parseDuration(match[2]!) };
}

function setting<T>(name: string, value: string, parse: (text: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
}
