/**
 * Time as an injected dependency. The architecture forbids clock reads inside
 * logic ("Only main.ts files construct concrete I/O … clock"), and the unit tier
 * must never depend on wall-clock timing, so every layer that needs a timeout
 * (frame decoder, request matcher, AN3155 client) takes a Clock.
 */

/** Opaque timer handle: whatever the clock's setTimeout returned. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are meaningful. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock, for composition roots (main.ts). Built on demand: no singleton. */
export function createSystemClock(): Clock {
  return {
    now: () => performance.now(),
    setTimeout: (callback, ms) => {
      const handle = setTimeout(callback, ms);
      // A pending protocol timeout alone must not keep a CLI process alive.
      handle.unref();
      return handle;
    },
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

interface ManualTimer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

/**
 * A clock that only moves when told to. For tests of this module and of its users
 * (device-agent), so timeouts can be exercised without sleeping.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { id: this.#nextId++, due: this.#now + Math.max(0, ms), callback };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Number of timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDue(): number | undefined {
    let due: number | undefined;
    for (const t of this.#timers) if (due === undefined || t.due < due) due = t.due;
    return due;
  }

  /** Move time forward by `ms`, firing due timers in order (ties in creation order). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.due > target) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.due);
      next.callback();
    }
    this.#now = target;
  }

  /** Jump to the earliest pending timer and fire it; false when none is pending. */
  runNext(): boolean {
    const next = this.#earliest();
    if (next === undefined) return false;
    this.advance(Math.max(0, next.due - this.#now));
    return true;
  }

  #earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers) if (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }
}
