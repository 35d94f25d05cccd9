/**
 * Buffered reads with timeouts over a ByteLink, for request/response protocols
 * without framing (AN3155 answers are bare bytes). Every byte that arrives is
 * kept until read or discarded, so an answer racing ahead of the read call is
 * never lost.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { ByteLink, Unsubscribe } from '../link/byte-link.js';
import { LinkClosedError } from '../link/byte-link.js';

export class ReadTimeoutError extends Error {
  override name = 'ReadTimeoutError';
  constructor(
    readonly wanted: number,
    readonly received: number,
    readonly timeoutMs: number,
  ) {
    super(`expected ${wanted} byte(s), received ${received} within ${timeoutMs} ms`);
  }
}

interface Waiter {
  readonly n: number;
  readonly resolve: (bytes: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

export class ByteReader {
  readonly #link: ByteLink;
  readonly #clock: Clock;
  #buf = new Uint8Array(512);
  #len = 0;
  #waiter: Waiter | undefined;
  #closed: Error | undefined;
  readonly #off: Unsubscribe[];

  constructor(link: ByteLink, clock: Clock) {
    this.#link = link;
    this.#clock = clock;
    this.#off = [link.onData((b) => this.#onData(b)), link.onClose((err) => this.#onClose(err))];
    if (!link.isOpen) this.#onClose(undefined);
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.#len;
  }

  get link(): ByteLink {
    return this.#link;
  }

  /** Read exactly `n` bytes, or reject with ReadTimeoutError / LinkClosedError. One read at a time. */
  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.#waiter !== undefined) return Promise.reject(new Error('ByteReader: a read is already pending'));
    if (this.#len >= n) return Promise.resolve(this.#take(n));
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        if (this.#waiter?.timer !== timer) return;
        this.#waiter = undefined;
        reject(new ReadTimeoutError(n, this.#len, timeoutMs));
      }, timeoutMs);
      this.#waiter = { n, resolve, reject, timer };
    });
  }

  async readByte(timeoutMs: number): Promise<number> {
    const b = await this.read(1, timeoutMs);
    return b[0] ?? 0;
  }

  /**
   * Write `bytes`, then read `n` bytes. The read is armed before writing so the
   * timeout covers the whole exchange, and a failed write cancels the read.
   */
  async exchange(bytes: Uint8Array, n: number, timeoutMs: number): Promise<Uint8Array> {
    const reply = this.read(n, timeoutMs);
    try {
      await this.#link.write(bytes);
    } catch (err) {
      this.cancel(err instanceof Error ? err : new Error(String(err)));
      await reply.catch(() => undefined);
      throw err;
    }
    return reply;
  }

  /** Drop everything buffered; returns how many bytes were dropped. */
  discard(): number {
    const n = this.#len;
    this.#len = 0;
    return n;
  }

  /** Reject the pending read, if any. */
  cancel(reason: Error): void {
    const w = this.#waiter;
    if (w === undefined) return;
    this.#waiter = undefined;
    this.#clock.clearTimeout(w.timer);
    w.reject(reason);
  }

  /** Stop listening to the link (the reader can then no longer be used). */
  dispose(): void {
    for (const off of this.#off) off();
    this.#onClose(undefined, 'reader disposed');
  }

  #onData(bytes: Uint8Array): void {
    if (this.#len + bytes.length > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + bytes.length));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    const w = this.#waiter;
    if (w !== undefined && this.#len >= w.n) {
      this.#waiter = undefined;
      this.#clock.clearTimeout(w.timer);
      w.resolve(this.#take(w.n));
    }
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    return out;
  }

  #onClose(err: Error | undefined, message = 'link closed'): void {
    this.#closed ??= new LinkClosedError(message, { cause: err });
    this.cancel(this.#closed);
  }
}
