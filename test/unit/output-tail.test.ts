import { describe, expect, it } from "vitest";
import { OutputTail } from "../../control-plane/src/services/output-tail.js";

/** The control plane's live view of a running execution's output: the last `limit` bytes of string chunks. */

const tailOf = (limit: number, ...chunks: string[]) => {
  const tail = new OutputTail(limit);
  for (const chunk of chunks) tail.append(chunk);
  return tail;
};

/** The last `limit` bytes of `text`, as the tail should keep them (no partial character at the start). */
const lastBytes = (text: string, limit: number) => {
  const bytes = Buffer.from(text);
  let start = Math.max(0, bytes.length - limit);
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString("utf8");
};

describe("OutputTail (control plane)", () => {
  it("keeps everything up to the limit, untruncated", () => {
    const tail = tailOf(10, "hello", "world");
    expect(tail.text()).toBe("helloworld");
    expect(tail.truncated).toBe(false);
    expect(tailOf(10).text()).toBe("");
  });

  it("keeps exactly the last `limit` bytes across chunks, not fewer", () => {
    // 20 bytes in two chunks of 10 with a limit of 15: the tail is the last 15 bytes, which begin inside the first chunk.
    const tail = tailOf(15, "0123456789", "abcdefghij");
    expect(tail.text()).toBe("56789abcdefghij");
    expect(tail.truncated).toBe(true);
  });

  it("matches the last bytes of the whole stream for many chunk sizes", () => {
    const chunks = Array.from({ length: 200 }, (_, i) => `line ${i} ${"x".repeat(i % 17)}\n`);
    for (const limit of [1, 7, 64, 333, 1000]) {
      const tail = tailOf(limit, ...chunks);
      expect(tail.text(), `limit ${limit}`).toBe(lastBytes(chunks.join(""), limit));
      expect(Buffer.byteLength(tail.text())).toBeLessThanOrEqual(limit);
      expect(tail.truncated).toBe(true);
    }
  });

  it("says truncated as soon as more than the limit arrived, before text() is asked", () => {
    const tail = tailOf(4, "abcdef");
    expect(tail.truncated).toBe(true);
    expect(tail.text()).toBe("cdef");
    const exact = tailOf(6, "abc", "def");
    expect(exact.truncated).toBe(false);
    expect(exact.text()).toBe("abcdef");
  });

  it("never starts inside a multi-byte character", () => {
    // "€" is three bytes: a limit of 7 over "€€€" (9 bytes) cuts into the first; only whole characters are kept.
    expect(tailOf(7, "€€€").text()).toBe("€€");
    expect(tailOf(8, "x", "€€€").text()).toBe("€€");
    // Four-byte emoji cut after its first byte: nothing of it is kept.
    expect(tailOf(3, "😀").text()).toBe("");
    expect(tailOf(5, "😀", "é", "😀").text()).toBe("😀");
    for (const limit of [1, 2, 3, 4, 5, 6, 9, 10]) {
      const text = tailOf(limit, "aé€😀b", "€é😀").text();
      expect(text).not.toContain("\uFFFD");
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(limit);
      expect("aé€😀b€é😀".endsWith(text)).toBe(true);
    }
  });

  it("keeps a real U+FFFD that starts the kept bytes (only partial characters are dropped)", () => {
    // U+FFFD is itself three bytes (EF BF BD): a limit of 6 over "ab\uFFFDdef" keeps it whole.
    expect(tailOf(6, "ab", "\uFFFDdef").text()).toBe("\uFFFDdef");
  });

  it("holds about limit + one chunk, however much is appended", () => {
    const tail = new OutputTail(100);
    for (let i = 0; i < 10_000; i++) tail.append("a".repeat(64));
    expect(tail.text()).toBe("a".repeat(100));
    const held = (tail as unknown as { chunks: string[] }).chunks.join("").length;
    expect(held).toBeGreaterThanOrEqual(100);
    expect(held).toBeLessThan(100 + 64);
  });
});
