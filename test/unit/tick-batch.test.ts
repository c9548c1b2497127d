import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { TickBatch } from "../../control-plane/src/services/tick-batch.js";

describe("TickBatch", () => {
  it("hands over what came in one turn as one batch, in order, on a later turn", async () => {
    const batches: number[][] = [];
    const batch = new TickBatch<number>((items) => batches.push(items));
    for (let i = 0; i < 5; i++) batch.add(i);
    expect(batches).toEqual([]);
    await nextTurn();
    expect(batches).toEqual([[0, 1, 2, 3, 4]]);
  });

  it("hands over at most maxItems per turn, the rest on the following turns", async () => {
    const batches: number[][] = [];
    const batch = new TickBatch<number>((items) => batches.push(items), 2);
    for (let i = 0; i < 5; i++) batch.add(i);
    await nextTurn();
    expect(batches).toEqual([[0, 1]]);
    await nextTurn();
    await nextTurn();
    expect(batches).toEqual([[0, 1], [2, 3], [4]]);
  });

  it("queues what the handler adds for a later turn", async () => {
    const batches: number[][] = [];
    const batch: TickBatch<number> = new TickBatch<number>((items) => {
      batches.push(items);
      if (items[0] === 1) batch.add(2);
    });
    batch.add(1);
    await nextTurn();
    expect(batches).toEqual([[1]]);
    await nextTurn();
    expect(batches).toEqual([[1], [2]]);
  });

  it("flushes everything on close and refuses later items", async () => {
    const batches: number[][] = [];
    const batch = new TickBatch<number>((items) => batches.push(items), 2);
    for (let i = 0; i < 3; i++) batch.add(i);
    batch.close();
    expect(batches).toEqual([[0, 1], [2]]);
    expect(batch.add(3)).toBe(false);
    await nextTurn();
    expect(batches).toEqual([[0, 1], [2]]);
  });
});
