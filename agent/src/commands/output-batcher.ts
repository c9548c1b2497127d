/**
 * Collects streamed output and sends it in batches (every `intervalMs`, or sooner past `maxBytes`),
 * so a chatty script costs a message per interval rather than one per line.
 */
export class OutputBatcher {
  private pending: { stdout: string; stderr: string } = { stdout: "", stderr: "" };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flushTo: (stream: "stdout" | "stderr", chunk: string) => void,
    private readonly intervalMs = 250,
    private readonly maxBytes = 64 * 1024,
  ) {}

  add(stream: "stdout" | "stderr", chunk: string): void {
    this.pending[stream] += chunk;
    if (this.pending[stream].length >= this.maxBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const stream of ["stdout", "stderr"] as const) {
      const text = this.pending[stream];
      this.pending[stream] = "";
      // A single frame carries at most 256 KiB of output; bigger bursts go in pieces.
      for (let i = 0; i < text.length; i += 128 * 1024) this.flushTo(stream, text.slice(i, i + 128 * 1024));
    }
  }
}
