/**
 * Decides whether a repeated failure is worth a log line: the first one, then at most one per
 * interval, so a server that is down for a day does not fill the disk with the same message.
 */
export class QuietLog {
  private lastLoggedAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns how many were suppressed since the last logged one, or undefined when this one should be quiet. */
  shouldLog(): number | undefined {
    const now = this.now();
    if (now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed++;
      return undefined;
    }
    const suppressed = this.suppressed;
    this.lastLoggedAt = now;
    this.suppressed = 0;
    return suppressed;
  }

  reset(): void {
    this.lastLoggedAt = -Infinity;
    this.suppressed = 0;
  }
}
