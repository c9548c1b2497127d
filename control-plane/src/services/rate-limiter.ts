import type { RateLimit } from "../portal-config.js";

/** Keys are forgotten once their window has passed; the sweep runs every so many attempts. */
const SWEEP_EVERY = 1000;

/**
 * At most `limit.attempts` per key in any sliding window of `limit.windowSeconds`, in memory (one
 * control plane process). A refused attempt is not counted, so a client that waits as told gets in.
 */
export class RateLimiter {
  private readonly recent = new Map<string, number[]>();
  private calls = 0;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
  ) {}

  /** Counts an attempt and returns 0, or returns the whole seconds to wait when the key is at its limit. */
  take(key: string): number {
    const now = this.now();
    const since = now - this.limit.windowSeconds * 1000;
    if (++this.calls % SWEEP_EVERY === 0) this.forget(since);
    const times = (this.recent.get(key) ?? []).filter((t) => t > since);
    if (times.length >= this.limit.attempts) {
      this.recent.set(key, times);
      return Math.max(1, Math.ceil((times[0]! - since) / 1000));
    }
    times.push(now);
    this.recent.set(key, times);
    return 0;
  }

  private forget(since: number): void {
    for (const [key, times] of this.recent) if (times.at(-1)! <= since) this.recent.delete(key);
  }
}
