import { afterEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "../../agent/src/connection/backoff.js";
import { QuietLog } from "../../agent/src/connection/quiet-log.js";
import { Watchdog } from "../../agent/src/connection/watchdog.js";
import { renewalDueAt } from "../../agent/src/identity/renewal.js";

describe("Backoff", () => {
  it("grows exponentially up to the cap, with full jitter", () => {
    const ceilings: number[] = [];
    const backoff = new Backoff(1000, 30_000, () => 0.999999);
    for (let i = 0; i < 8; i++) ceilings.push(backoff.next());
    expect(ceilings).toEqual([999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
    expect(new Backoff(1000, 30_000, () => 0).next()).toBe(0);
  });

  it("starts over after reset", () => {
    const backoff = new Backoff(1000, 60_000, () => 0.5);
    backoff.next();
    backoff.next();
    backoff.next();
    expect(backoff.failures).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it("spreads agents out: jittered delays of many agents differ", () => {
    const delays = new Set(Array.from({ length: 100 }, () => new Backoff(1000, 60_000).next()));
    expect(delays.size).toBeGreaterThan(50);
  });
});

describe("Watchdog", () => {
  afterEach(() => vi.useRealTimers());

  it("fires after silence and not while fed", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const dog = new Watchdog(1000, fired);
    dog.feed();
    vi.advanceTimersByTime(900);
    dog.feed();
    vi.advanceTimersByTime(900);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(200);
    expect(fired).toHaveBeenCalledTimes(1);
    dog.stop();
  });

  it("stops for good", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const dog = new Watchdog(100, fired);
    dog.feed();
    dog.stop();
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
  });
});

describe("QuietLog", () => {
  it("logs the first failure, then one per interval with the count of the quiet ones", () => {
    let now = 0;
    const quiet = new QuietLog(60_000, () => now);
    expect(quiet.shouldLog()).toBe(0);
    now = 1000;
    expect(quiet.shouldLog()).toBeUndefined();
    now = 2000;
    expect(quiet.shouldLog()).toBeUndefined();
    now = 61_000;
    expect(quiet.shouldLog()).toBe(2);
    quiet.reset();
    expect(quiet.shouldLog()).toBe(0);
  });
});

describe("certificate renewal timing", () => {
  it("is due at two thirds of the lifetime the agent received", () => {
    const due = renewalDueAt({ certificateReceivedAt: "2026-01-01T00:00:00.000Z", certificateExpiresAt: "2026-04-01T00:00:00.000Z" });
    const lifetime = Date.parse("2026-04-01T00:00:00.000Z") - Date.parse("2026-01-01T00:00:00.000Z");
    expect(due).toBe(Date.parse("2026-01-01T00:00:00.000Z") + (lifetime * 2) / 3);
  });
});
