/**
 * Fires when nothing has been heard for `timeoutMs`: a connection whose peer vanished without a FIN
 * (sleep, NAT timeout, cable pulled) looks open for hours unless something notices the silence.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private timeoutMs: number,
    private readonly onSilence: () => void,
  ) {}

  /** Call on every sign of life (message, ping, pong). */
  feed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onSilence, this.timeoutMs);
    this.timer.unref();
  }

  setTimeout(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    this.feed();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
