/**
 * Runs `cleanup` when this test process ends, however it ends. Vitest ends its fork workers with
 * SIGTERM, which skips 'exit' handlers, so the signals are caught too: clean up, then die of the
 * signal as intended. Cleanups must be synchronous (kill children, remove directories).
 */
export function atTestProcessExit(cleanup: () => void): void {
  cleanups.push(cleanup);
}

const cleanups: (() => void)[] = [];

function runAll(): void {
  for (const cleanup of cleanups.splice(0)) {
    try {
      cleanup();
    } catch {
      // The next cleanup still runs: a failed removal must not leave processes behind.
    }
  }
}

process.on("exit", runAll);
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  process.once(signal, () => {
    runAll();
    process.kill(process.pid, signal);
  });
}
