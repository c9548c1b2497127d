/**
 * The last `limit` bytes of a stream of text chunks, without holding more than about twice that: the
 * live view of a running execution's output.
 */
export class OutputTail {
  private chunks: string[] = [];
  private bytes = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  append(chunk: string): void {
    this.chunks.push(chunk);
    this.bytes += Buffer.byteLength(chunk);
    while (this.bytes > this.limit && this.chunks.length > 1) {
      this.bytes -= Buffer.byteLength(this.chunks.shift()!);
      this.truncated = true;
    }
  }

  text(): string {
    const all = this.chunks.join("");
    if (Buffer.byteLength(all) <= this.limit) return all;
    this.truncated = true;
    // Cut at a character boundary: drop partial UTF-8 sequences at the start of the kept bytes.
    return Buffer.from(all).subarray(-this.limit).toString("utf8").replace(/^\uFFFD+/, "");
  }
}
