import { JOIN_REQUEST_MAX_AGE_MS, JOIN_REQUEST_MAX_SKEW_MS } from '../../protocol/index.js';

export type NonceVerdict = 'fresh' | 'replayed' | 'stale' | 'future';

export interface JoinNonceLimits {
  maxAgeMs: number;
  maxSkewMs: number;
  /** Nonces remembered at most; beyond, the oldest are forgotten and their time becomes the floor. */
  capacity: number;
}

export const defaultJoinNonceLimits: JoinNonceLimits = { maxAgeMs: JOIN_REQUEST_MAX_AGE_MS, maxSkewMs: JOIN_REQUEST_MAX_SKEW_MS, capacity: 10_000 };

/**
 * Join nonces are single-use. A request is accepted only inside a time window, so only that
 * window's nonces need remembering. Memory is bounded: when a forgotten nonce could still be
 * inside the window, the window's lower edge (the floor) moves up past it, so forgetting never
 * reopens a replay. The floor starts at the hub's start: nonces seen by an earlier hub process
 * are not known here, so requests signed before it are refused (the agent retries with a new one).
 */
export class JoinNonces {
  /** nonce → the request's timestamp, in insertion order. */
  private readonly seen = new Map<string, number>();
  private floor: number;

  constructor(
    startedAt: number,
    private readonly limits: JoinNonceLimits = defaultJoinNonceLimits,
  ) {
    this.floor = startedAt;
  }

  /** Checks a request's nonce and time and, when fresh, remembers the nonce. */
  claim(nonce: string, timestamp: number, now: number): NonceVerdict {
    if (timestamp > now + this.limits.maxSkewMs) return 'future';
    if (timestamp < now - this.limits.maxAgeMs || timestamp < this.floor) return 'stale';
    if (this.seen.has(nonce)) return 'replayed';
    if (this.seen.size >= this.limits.capacity) this.forget(now);
    this.seen.set(nonce, timestamp);
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }

  private forget(now: number): void {
    for (const [nonce, timestamp] of this.seen) if (timestamp < now - this.limits.maxAgeMs) this.seen.delete(nonce);
    for (const [nonce, timestamp] of this.seen) {
      if (this.seen.size < this.limits.capacity) break;
      this.seen.delete(nonce);
      // Equal timestamps too: `< floor` is stale, so a forgotten nonce's own time must be below it.
      this.floor = Math.max(this.floor, timestamp + 1);
    }
  }
}
