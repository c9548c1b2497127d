/** Time as services see it: injectable so schedules can be tested without waiting. */
export interface Clock {
  now(): Date;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(fn, ms) {
    // Node timers overflow past ~24.8 days; longer waits re-arm in steps.
    let timer: NodeJS.Timeout;
    const deadline = Date.now() + ms;
    const arm = () => {
      const left = deadline - Date.now();
      timer = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.max(0, Math.min(left, MAX_TIMER_MS)));
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};
