import type { Clock } from '../../firmware/index.js';
import { fullBucket, isFull, take, type Bucket, type BucketRate } from './token-bucket.js';

export type Admission = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

/**
 * One token bucket per key (a device id, a source address). Full buckets are forgotten on a
 * sweep, since a fresh one is the same: the map holds only keys that were busy lately, however
 * many addresses knock.
 */
export class KeyedLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(
    private readonly rate: BucketRate,
    private readonly clock: Pick<Clock, 'now'>,
    /** Sweeps at most this often (ms). */
    private readonly sweepEveryMs = 10_000,
  ) {
    this.lastSweep = clock.now();
  }

  admit(key: string): Admission {
    const now = this.clock.now();
    this.sweep(now);
    const result = take(this.buckets.get(key) ?? fullBucket(this.rate, now), this.rate, now);
    this.buckets.set(key, result.bucket);
    return result.ok ? { ok: true } : { ok: false, retryAfterMs: result.retryAfterMs };
  }

  /** Keys currently tracked (for tests and stats). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.sweepEveryMs) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (isFull(bucket, this.rate, now)) this.buckets.delete(key);
  }
}

/**
 * Admission by source address and overall: both must have a token. A refused caller does not
 * spend the global token (one flooding address must not lock everyone else out faster).
 */
export class ConnectionRateLimiter {
  private readonly perSource: KeyedLimiter;
  private readonly global: KeyedLimiter;

  constructor(limits: { perSource: BucketRate; global: BucketRate }, clock: Pick<Clock, 'now'>) {
    this.perSource = new KeyedLimiter(limits.perSource, clock);
    this.global = new KeyedLimiter(limits.global, clock);
  }

  admit(source: string): Admission {
    const own = this.perSource.admit(source);
    if (!own.ok) return own;
    return this.global.admit('*');
  }
}
