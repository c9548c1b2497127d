/**
 * The last `limit` bytes of a stream, held as a queue of chunks: memory stays near `limit` plus one
 * chunk however much the script prints, and nothing is copied until the end.
 */
export class OutputTail {
  private readonly chunks: Buffer[] = [];
  private held = 0;
  private seen = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.seen += chunk.length;
    this.chunks.push(chunk);
    this.held += chunk.length;
    // Drop whole chunks from the front while what remains still covers the limit.
    while (this.chunks.length > 0 && this.held - this.chunks[0]!.length >= this.limit) {
      this.held -= this.chunks.shift()!.length;
    }
  }

  get truncated(): boolean {
    return this.seen > this.limit;
  }

  /**
   * The kept bytes as text. When the cut fell inside a multi-byte UTF-8 character, its remaining
   * continuation bytes are dropped too, so the text starts on a whole character.
   */
  text(): string {
    let tail = Buffer.concat(this.chunks, this.held);
    if (this.truncated) {
      // The cut may also have fallen on a chunk boundary, so this is checked even when nothing is sliced.
      tail = tail.subarray(Math.max(0, tail.length - this.limit));
      let start = 0;
      // Continuation bytes look like 10xxxxxx; a character has at most three of them.
      while (start < 3 && start < tail.length && (tail[start]! & 0xc0) === 0x80) start++;
      tail = tail.subarray(start);
    }
    return tail.toString("utf8");
  }
}
