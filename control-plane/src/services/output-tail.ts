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
    if (this.bytes > this.limit) this.truncated = true;
    // Drop whole chunks from the front only while the rest still covers the limit: the kept text is
    // then always the full last `limit` bytes, cut precisely in text().
    while (this.chunks.length > 1 && this.bytes - Buffer.byteLength(this.chunks[0]!) >= this.limit) {
      this.bytes -= Buffer.byteLength(this.chunks.shift()!);
    }
  }

  text(): string {
    const all = Buffer.from(this.chunks.join(""));
    if (all.length <= this.limit) return all.toString("utf8");
    // Cut at a character boundary: skip the continuation bytes (10xxxxxx) of a character cut in two.
    let start = all.length - this.limit;
    while (start < all.length && (all[start]! & 0xc0) === 0x80) start++;
    return all.subarray(start).toString("utf8");
  }
}
