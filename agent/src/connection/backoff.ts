/**
 * Capped exponential backoff with full jitter: the n-th retry waits a random time in
 * [0, min(max, base·2ⁿ)], so a thousand agents that lost the server at the same moment do not come
 * back at the same moment. Reset after a successful session.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 60_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts one failure. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
