import { describe, expect, it } from "vitest";
import { addressKey } from "../../control-plane/src/http/middleware/rate-limit.js";
import { loadPortalConfig, parseRate } from "../../control-plane/src/portal-config.js";
import { RateLimiter } from "../../control-plane/src/services/rate-limiter.js";

/** The sign-in rate limiter (a sliding window per key), the address keys it counts under, and its settings. */

describe("RateLimiter", () => {
  it("allows N attempts in any window, then says how many seconds until the oldest leaves it", () => {
    let now = 0;
    const limiter = new RateLimiter({ attempts: 3, windowSeconds: 60 }, () => now);
    expect([limiter.take("a"), limiter.take("a")]).toEqual([0, 0]);
    now = 20_000;
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(40);
    expect(limiter.take("b")).toBe(0);
    now = 59_999;
    expect(limiter.take("a")).toBe(1);
    // The two first attempts left the window; the refused ones were never counted.
    now = 60_000;
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 20]);
  });

  it("forgets keys whose window has passed", () => {
    let now = 0;
    const limiter = new RateLimiter({ attempts: 1, windowSeconds: 1 }, () => now);
    for (let i = 0; i < 999; i++) limiter.take(`key-${i}`);
    now = 5_000;
    limiter.take("the 1000th attempt sweeps");
    expect((limiter as unknown as { recent: Map<string, number[]> }).recent.size).toBe(1);
  });
});

describe("addressKey", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:203.0.113.9", "203.0.113.9"],
    ["2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64"],
    ["2001:0db8:00aa:00bb:ffff::1", "2001:db8:aa:bb::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
  ])("%s → %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe("portal settings", () => {
  it("default to 8-hour sessions, lock-out after 10 failures, 30 sign-ins a minute per address and 5 per account", () => {
    expect(loadPortalConfig({})).toEqual({
      sessionTtlSeconds: 8 * 3600,
      lockoutThreshold: 10,
      loginRatePerAddress: { attempts: 30, windowSeconds: 60 },
      loginRatePerAccount: { attempts: 5, windowSeconds: 60 },
    });
  });

  it("read TETHER_PORTAL_* and name the setting that is wrong", () => {
    expect(parseRate("100/1h")).toEqual({ attempts: 100, windowSeconds: 3600 });
    expect(loadPortalConfig({ TETHER_PORTAL_LOCKOUT_THRESHOLD: "3", TETHER_PORTAL_SESSION_TTL: "15m" })).toMatchObject({ lockoutThreshold: 3, sessionTtlSeconds: 900 });
    expect(() => loadPortalConfig({ TETHER_PORTAL_LOGIN_RATE_IP: "30" })).toThrow(/^TETHER_PORTAL_LOGIN_RATE_IP: "30" is not a rate; write it like 30\/1m/);
    expect(() => loadPortalConfig({ TETHER_PORTAL_LOGIN_RATE_ACCOUNT: "0/1m" })).toThrow(/TETHER_PORTAL_LOGIN_RATE_ACCOUNT/);
    expect(() => loadPortalConfig({ TETHER_PORTAL_LOCKOUT_THRESHOLD: "0" })).toThrow(/TETHER_PORTAL_LOCKOUT_THRESHOLD: "0" must be a whole number from 1 to 1000/);
    expect(() => loadPortalConfig({ TETHER_PORTAL_SESSION_TTL: "soon" })).toThrow(/TETHER_PORTAL_SESSION_TTL: "soon" is not a duration/);
  });
});
