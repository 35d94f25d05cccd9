/**
 * Two connected in-memory ByteLinks, for tests of every layer above the byte link
 * (and for other modules' tests of code that takes a ByteLink). Delivery is
 * asynchronous on the microtask queue, in order, so tests are deterministic and
 * need no timers.
 */
import type { ByteLink, Unsubscribe } from './byte-link.js';
import { LinkClosedError, Listeners } from './byte-link.js';

export type LinkSide = 'a' | 'b';

export interface MemoryLinkOptions {
  /**
   * Called for every write before delivery; return the bytes to deliver instead
   * (fewer to drop, changed to corrupt, none to lose the write). `from` is the
   * writing side.
   */
  readonly tamper?: (bytes: Uint8Array, from: LinkSide) => Uint8Array;
  /** Deliver writes in pieces of at most this many bytes (1 = byte by byte). */
  readonly maxChunk?: number;
}

export interface MemoryLinkPair {
  readonly a: MemoryLink;
  readonly b: MemoryLink;
  /** Both ends close, as when a cable is pulled; listeners get `error`. */
  disconnect(error?: Error): void;
}

export function createMemoryLinkPair(options: MemoryLinkOptions = {}): MemoryLinkPair {
  const a = new MemoryLink('a', options);
  const b = new MemoryLink('b', options);
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    disconnect(error?: Error) {
      a.shut(error);
      b.shut(error);
    },
  };
}

export class MemoryLink implements ByteLink {
  /** Set by createMemoryLinkPair. */
  peer: MemoryLink | undefined;
  /** Every byte this side has written, before tampering: for assertions in tests. */
  readonly written: number[] = [];
  readonly #side: LinkSide;
  readonly #options: MemoryLinkOptions;
  readonly #data = new Listeners<[Uint8Array]>();
  readonly #close = new Listeners<[Error | undefined]>();
  readonly #error = new Listeners<[Error]>();
  #open = true;

  constructor(side: LinkSide, options: MemoryLinkOptions) {
    this.#side = side;
    this.#options = options;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.#open) return Promise.reject(new LinkClosedError());
    for (const b of bytes) this.written.push(b);
    const copy = bytes.slice();
    const delivered = this.#options.tamper ? this.#options.tamper(copy, this.#side) : copy;
    const peer = this.peer;
    const step = Math.max(1, this.#options.maxChunk ?? (delivered.length || 1));
    for (let i = 0; i < delivered.length; i += step) {
      const piece = delivered.slice(i, i + step);
      queueMicrotask(() => peer?.receive(piece));
    }
    return Promise.resolve();
  }

  onData(listener: (bytes: Uint8Array) => void): Unsubscribe {
    return this.#data.add(listener);
  }

  onClose(listener: (error?: Error) => void): Unsubscribe {
    return this.#close.add(listener);
  }

  onError(listener: (error: Error) => void): Unsubscribe {
    return this.#error.add(listener);
  }

  /** Closing one end closes the other, like a serial port going away. */
  close(): Promise<void> {
    this.shut(undefined);
    this.peer?.shut(undefined);
    return Promise.resolve();
  }

  /** Simulate a transport error that leaves the link open. */
  injectError(error: Error): void {
    this.#error.emit(error);
  }

  /** @internal delivery from the peer */
  receive(bytes: Uint8Array): void {
    if (this.#open && bytes.length > 0) this.#data.emit(bytes);
  }

  /** @internal */
  shut(error: Error | undefined): void {
    if (!this.#open) return;
    this.#open = false;
    this.#close.emit(error);
  }
}
