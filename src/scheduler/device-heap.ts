// A binary max-heap of device indices ordered by a shared score array, ties to the lower index
// (devices are indexed in id order, so that is the tie-break by device id). Only the top ever
// changes score, so pop/push is all the session needs.
export class DeviceHeap {
  private readonly items: number[] = [];

  constructor(private readonly score: Int32Array) {}

  get size(): number {
    return this.items.length;
  }

  /** The best device, or -1 when empty. */
  peek(): number {
    return this.items.length === 0 ? -1 : (this.items[0] as number);
  }

  private better(a: number, b: number): boolean {
    const sa = this.score[a] as number;
    const sb = this.score[b] as number;
    return sa > sb || (sa === sb && a < b);
  }

  push(device: number): void {
    const items = this.items;
    let at = items.length;
    items.push(device);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = items[parent] as number;
      if (!this.better(device, p)) break;
      items[at] = p;
      at = parent;
    }
    items[at] = device;
  }

  /** Adds without ordering; call `heapify()` before the next peek/pop (O(n) instead of O(n log n)). */
  append(device: number): void {
    this.items.push(device);
  }

  heapify(): void {
    for (let at = (this.items.length >> 1) - 1; at >= 0; at--) this.siftDown(at, this.items[at] as number);
  }

  pop(): number {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return -1;
    if (items.length > 0) this.siftDown(0, last);
    return top;
  }

  /** Places `item` at `at` or below, moving better children up. */
  private siftDown(start: number, item: number): void {
    const items = this.items;
    const n = items.length;
    let at = start;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.better(items[right] as number, items[left] as number)) child = right;
      const c = items[child] as number;
      if (!this.better(c, item)) break;
      items[at] = c;
      at = child;
    }
    items[at] = item;
  }
}
