/**
 * Virtual time for tests: a ManualClock that jumps to the next pending timer
 * whenever the process has nothing else to do (all microtasks drained, one
 * macrotask turn). Memory links and fake peers work on microtasks, so a timeout
 * fires only when no answer can still arrive — deterministic and instant.
 */
import { ManualClock } from '../../../../src/firmware/clock.js';

export interface AutoClock {
  readonly clock: ManualClock;
  stop(): void;
}

export function autoClock(start = 0): AutoClock {
  const clock = new ManualClock(start);
  let running = true;
  const tick = (): void => {
    if (!running) return;
    if (clock.pendingTimers > 0) clock.runNext();
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    clock,
    stop() {
      running = false;
    },
  };
}

/** Let queued microtasks and one macrotask turn run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function hex(data: ArrayLike<number>): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
