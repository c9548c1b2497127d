/**
 * Collects items and hands them over in batches, in the order they came, on later turns of the event
 * loop (setImmediate), at most `maxItems` per turn. Messages that arrive in one burst (thousands of
 * agents answering a fan-out) are then handled together, e.g. in one transaction, instead of one by
 * one; and a burst of work (a fan-out's thousands of socket writes) runs in slices, so the server
 * keeps reading its sockets in between.
 */
export class TickBatch<T> {
  private items: T[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(
    private readonly handle: (items: T[]) => void,
    private readonly maxItems = 1000,
  ) {}

  /** Queues an item; false once closed (the item is dropped). */
  add(item: T): boolean {
    if (this.closed) return false;
    this.items.push(item);
    this.scheduled ??= setImmediate(() => this.next());
    return true;
  }

  /** Hands over everything that waits, now. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    while (this.items.length > 0) this.handle(this.items.splice(0, this.maxItems));
  }

  /** Hands over what waits and accepts nothing more (e.g. before the database closes). */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private next(): void {
    const batch = this.items.splice(0, this.maxItems);
    this.scheduled = this.items.length > 0 ? setImmediate(() => this.next()) : undefined;
    this.handle(batch);
  }
}
