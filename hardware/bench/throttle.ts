// One direction of a serial line at a real rate. A pty moves bytes as fast as the
// kernel can; a UART at 115200 8E1 moves one byte per 11 bit times (95.5 us). Each
// byte gets the time its last bit would leave the wire (back to back while the line is
// busy, from "now" when it was idle), and a single timer hands over every byte whose
// time has come. Timers fire about once a millisecond, so bytes arrive in batches of
// ~10, but the schedule is absolute, so the long-run rate is exact.

export type Deliver = (bytes: Uint8Array) => void;

interface QueuedChunk {
  readonly bytes: Uint8Array;
  /** performance.now() at which the chunk's first bit starts. */
  readonly startsAt: number;
  delivered: number;
}

export class ThrottledPipe {
  private readonly byteTimeMs: number | undefined;
  private readonly deliver: Deliver;
  private readonly queue: QueuedChunk[] = [];
  private lineFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `bytesPerSecond` undefined: no throttling, bytes pass straight through. */
  constructor(bytesPerSecond: number | undefined, deliver: Deliver) {
    this.byteTimeMs = bytesPerSecond === undefined ? undefined : 1000 / bytesPerSecond;
    this.deliver = deliver;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.byteTimeMs === undefined) {
      this.deliver(bytes);
      return;
    }
    const startsAt = Math.max(performance.now(), this.lineFreeAt);
    this.lineFreeAt = startsAt + bytes.length * this.byteTimeMs;
    this.queue.push({ bytes, startsAt, delivered: 0 });
    this.schedule();
  }

  /** Forgets everything not yet delivered (the cable was pulled, the MCU reset). */
  clear(): void {
    this.queue.length = 0;
    this.lineFreeAt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.byteTimeMs === undefined) return;
    const head = this.queue[0];
    if (!head) return;
    const nextByteDoneAt = head.startsAt + (head.delivered + 1) * this.byteTimeMs;
    const wait = Math.max(0, nextByteDoneAt - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, wait);
  }

  private pump(): void {
    const byteTimeMs = this.byteTimeMs;
    if (byteTimeMs === undefined) return;
    const now = performance.now();
    const ready: Uint8Array[] = [];
    for (;;) {
      const head = this.queue[0];
      if (!head) break;
      const done = Math.min(head.bytes.length, Math.floor((now - head.startsAt) / byteTimeMs + 1e-9));
      if (done > head.delivered) {
        ready.push(head.bytes.subarray(head.delivered, done));
        head.delivered = done;
      }
      if (head.delivered < head.bytes.length) break;
      this.queue.shift();
    }
    if (ready.length > 0) this.deliver(Buffer.concat(ready));
    this.schedule();
  }
}
