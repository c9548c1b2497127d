import { parseDuration } from "../../shared/src/duration.js";

/** Settings of the users directory, from TETHER_* environment variables (docs/directory.md lists them). */
export interface UserConfig {
  /** Shortest password accepted (TETHER_PASSWORD_MIN_LENGTH, default 12). */
  passwordMinLength: number;
  /** How long an activation link works (TETHER_ACTIVATION_TTL, default 72h). */
  activationTtlSeconds: number;
  /** Where activation links are mailed from; absent: links are only returned (TETHER_SMTP_URL, e.g. smtp://user:pass@mail:587). */
  smtpUrl: string | undefined;
  /** The From of those mails (TETHER_SMTP_FROM; default tether@ and the public URL's host). */
  mailFrom: string | undefined;
}

export const DEFAULT_PASSWORD_MIN_LENGTH = 12;
/** NIST SP 800-63B's floor: a setting below it is a mistake, not a policy. */
const LOWEST_PASSWORD_MIN_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

export function loadUserConfig(env: NodeJS.ProcessEnv): UserConfig {
  const minLength = env.TETHER_PASSWORD_MIN_LENGTH ?? String(DEFAULT_PASSWORD_MIN_LENGTH);
  if (!/^\d+$/.test(minLength) || Number(minLength) < LOWEST_PASSWORD_MIN_LENGTH || Number(minLength) > MAX_PASSWORD_LENGTH) {
    throw new Error(`TETHER_PASSWORD_MIN_LENGTH: "${minLength}" must be a whole number from ${LOWEST_PASSWORD_MIN_LENGTH} to ${MAX_PASSWORD_LENGTH}`);
  }
  let activationTtlSeconds: number;
  try {
    activationTtlSeconds = parseDuration(env.TETHER_ACTIVATION_TTL ?? "72h");
  } catch (error) {
    throw new Error(`TETHER_ACTIVATION_TTL: ${(error as Error).message}`);
  }
  const smtpUrl = env.TETHER_SMTP_URL || undefined;
  if (smtpUrl && !/^smtps?:\/\/[^/]+/.test(smtpUrl)) throw new Error("TETHER_SMTP_URL must look like smtp://host:port or smtps://user:password@host:465");
  return { passwordMinLength: Number(minLength), activationTtlSeconds, smtpUrl, mailFrom: env.TETHER_SMTP_FROM || undefined };
}
