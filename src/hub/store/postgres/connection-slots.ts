// The store pool's connections as slots the hub waits for itself, so that a pool busy with every
// connection is told apart from a server that cannot be reached. pg's pool has one timeout for
// both (waiting for a free connection, and connecting a new one), and a hub whose pool was only
// busy for 3 s reported PostgreSQL unavailable and degraded. Now a caller first takes a slot
// (waiting up to a bounded time: StoreBusy, the hub stays ok) and only then asks the pool, which
// then always has a connection free or room for one: what the pool fails with is the server.
import { StoreBusyError } from './errors.js';

export class ConnectionSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly size: number,
    /** How long a caller waits for a slot before StoreBusy. */
    private readonly waitMs: number,
    private readonly where: string,
  ) {
    this.free = size;
  }

  /** Runs `work` holding a slot; StoreBusy when none came free in time (nothing of `work` ran). */
  async with<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** A slot (StoreBusy when none came free in time); the function gives it back (once, however often called). */
  async acquire(): Promise<() => void> {
    await this.take();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.give();
    };
  }

  /** Callers waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  private take(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const turn = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(turn);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new StoreBusyError(`the store (PostgreSQL at ${this.where}) is busy: all ${this.size} connections of this hub were in use for ${this.waitMs / 1000} s; retry`));
      }, this.waitMs);
      this.waiting.push(turn);
    });
  }

  /** A slot handed straight to the next waiter, or freed. */
  private give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}
