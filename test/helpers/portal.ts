import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RequestContext } from "../../control-plane/src/domain/actor.js";
import { CreateUserSchema, type User } from "../../control-plane/src/domain/user.js";
import type { PortalConfig } from "../../control-plane/src/portal-config.js";
import type { Clock } from "../../control-plane/src/services/clock.js";
import { MfaService } from "../../control-plane/src/services/mfa.js";
import { PortalAuthService } from "../../control-plane/src/services/portal-auth.js";
import { SecretBox } from "../../control-plane/src/services/secret-box.js";
import { UserService } from "../../control-plane/src/services/users.js";
import { openDatabase } from "../../control-plane/src/store/db.js";
import { createStores, type Stores } from "../../control-plane/src/store/index.js";
import { requestJson } from "../../shared/src/http-client.js";
import type { TestControlPlane } from "./control-plane.js";

/**
 * TOTP codes from an independent implementation: oathtool (OATH Toolkit, Debian's `oathtool`),
 * SHA-1, 6 digits, 30-second steps, as of `at`.
 */
export function oathtool(secret: string, at: Date = new Date()): string {
  const when = at.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  return execFileSync("oathtool", ["--totp", "--base32", secret, "--now", when], { encoding: "utf8" }).trim();
}

/** Time that moves only when the test moves it. */
export class FakeClock implements Clock {
  private t: number;
  constructor(start: string) {
    this.t = Date.parse(start);
  }
  now(): Date {
    return new Date(this.t);
  }
  setTimer(): () => void {
    throw new Error("the portal services set no timers");
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export const PASSWORD = "correct horse battery staple";

export interface PortalHarness {
  stores: Stores;
  users: UserService;
  mfa: MfaService;
  portal: PortalAuthService;
  clock: FakeClock;
  keyFile: string;
  /** A request from a fixed address at the clock's time. */
  ctx(): RequestContext;
  /** Creates an activated user with PASSWORD (plus `fields`). */
  createUser(fields?: Record<string, unknown>): Promise<User>;
  close(): void;
}

/**
 * The users, MFA and portal services over a real in-memory SQLite with the real migrations, a fake
 * clock and a secret box in a temp dir: what the control plane wires, without HTTP.
 */
export function portalHarness(config: Partial<PortalConfig> = {}, start = "2030-01-01T00:00:00.000Z"): PortalHarness {
  const db = openDatabase(":memory:");
  const stores = createStores(db);
  const clock = new FakeClock(start);
  const dir = mkdtempSync(join(tmpdir(), "tether-portal-"));
  const keyFile = join(dir, "pki", "data.key");
  const users = new UserService(stores, {
    config: { passwordMinLength: 12, activationTtlSeconds: 3600, smtpUrl: undefined, mailFrom: undefined },
    publicUrl: () => "https://tether.example.com",
  });
  const mfa = new MfaService(stores, new SecretBox(keyFile));
  users.onMfaReset(mfa);
  const portal = new PortalAuthService(stores, users, mfa, {
    config: {
      sessionTtlSeconds: 8 * 3600,
      lockoutThreshold: 10,
      loginRatePerAddress: { attempts: 1000, windowSeconds: 60 },
      loginRatePerAccount: { attempts: 1000, windowSeconds: 60 },
      ...config,
    },
    passwordMinLength: 12,
    clock,
  });
  const ctx = (): RequestContext => ({ actor: { type: "system", id: null }, remoteAddr: "203.0.113.7", now: clock.now() });
  let count = 0;
  return {
    stores,
    users,
    mfa,
    portal,
    clock,
    keyFile,
    ctx,
    createUser: (fields = {}) => {
      count += 1;
      return users.create(ctx(), CreateUserSchema.parse({ username: `user${count}`, email: `user${count}@example.com`, password: PASSWORD, ...fields }));
    },
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The secret inside an otpauth:// URI. */
export function secretOf(uri: string): string {
  const secret = new URL(uri).searchParams.get("secret");
  if (!secret) throw new Error(`no secret in ${uri}`);
  return secret;
}

export interface PortalReply<T> {
  status: number;
  body: T;
  headers: IncomingHttpHeaders;
}

/** One request to a running control plane's portal API, with a session token (or none). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function portalCall<T = any>(server: TestControlPlane, method: string, path: string, body?: unknown, token?: string): Promise<PortalReply<T>> {
  const response = await requestJson<T>({
    url: `${server.url}${path}`,
    method,
    body,
    ca: server.caPem,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: response.body as T, headers: response.headers };
}
