import { describe, expect, it } from "vitest";
import { OutputTail } from "../../agent/src/executor/output-tail.js";

const tailOf = (limit: number, ...chunks: string[]) => {
  const tail = new OutputTail(limit);
  for (const chunk of chunks) tail.push(Buffer.from(chunk, "utf8"));
  return tail;
};

describe("OutputTail", () => {
  it("keeps everything up to the limit, untruncated", () => {
    const tail = tailOf(10, "hello", "world");
    expect([tail.text(), tail.truncated]).toEqual(["helloworld", false]);
  });

  it("keeps the last bytes past the limit, across chunks", () => {
    const tail = tailOf(6, "abc", "defgh", "ij");
    expect([tail.text(), tail.truncated]).toEqual(["efghij", true]);
  });

  it("holds about limit + one chunk however much is pushed", () => {
    const tail = new OutputTail(100);
    for (let i = 0; i < 10_000; i++) tail.push(Buffer.alloc(64, 97));
    expect(tail.text()).toBe("a".repeat(100));
    expect((tail as unknown as { held: number }).held).toBeLessThan(100 + 64);
  });

  it("does not start inside a multi-byte character when the cut falls in one", () => {
    // "€" is three bytes: a limit of 7 over "€€€" (9 bytes) cuts into the first kept one.
    expect(tailOf(7, "€€€").text()).toBe("€€");
    expect(tailOf(8, "x€€€").text()).toBe("€€");
    // A four-byte character cut after its first byte.
    expect(tailOf(3, "😀").text()).toBe("");
  });

  it("also drops a partial character when the cut falls exactly on a chunk boundary", () => {
    const euro = Buffer.from("€");
    const tail = new OutputTail(4);
    tail.push(euro.subarray(0, 1));
    tail.push(Buffer.concat([euro.subarray(1), Buffer.from("ab")]));
    expect(tail.text()).toBe("ab");
    expect(tail.truncated).toBe(true);
  });

  it("keeps a cut that lands between characters whole", () => {
    expect(tailOf(6, "€€€").text()).toBe("€€");
  });

  it("with a limit of 0 keeps nothing and says so", () => {
    const tail = tailOf(0, "x");
    expect([tail.text(), tail.truncated]).toEqual(["", true]);
    expect(tailOf(0).truncated).toBe(false);
  });
});
