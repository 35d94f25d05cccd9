import type { Clock } from '../../firmware/index.js';
import type { Admission } from './keyed-limiter.js';
import { fullBucket, isFull, refilled, take, type Bucket, type BucketRate } from './token-bucket.js';

/** Addresses tracked at most; past it the one that failed least recently is forgotten first. */
export const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Per-address budget of failed authentications (wrong API tokens, wrong device or join
 * credentials). Only failures spend it, so a busy address that logs in correctly is never
 * slowed; an address that has spent it is refused *before* its credentials are checked until
 * the bucket refills, so guessing goes no faster than `rate`. Other addresses keep their own
 * budget: one guessing address cannot lock out the admin or the fleet elsewhere.
 *
 * Memory is bounded twice: full buckets are forgotten (a fresh one is the same), and the map
 * holds at most `maxAddresses`, least recently failed evicted first (the Map's insertion order,
 * renewed on each failure). An attacker with more addresses than that only gets their budget
 * back sooner; the bound keeps the hub alive, the rate is what slows one address.
 */
export class FailedAuthLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(
    private readonly rate: BucketRate,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly maxAddresses = MAX_TRACKED_ADDRESSES,
    private readonly sweepEveryMs = 10_000,
  ) {
    this.lastSweep = clock.now();
  }

  /** Asked before credentials are checked: may this address try? Spends nothing. */
  check(address: string): Admission {
    const bucket = this.buckets.get(address);
    if (!bucket) return { ok: true };
    const current = refilled(bucket, this.rate, this.clock.now());
    if (current.tokens >= 1) return { ok: true };
    return { ok: false, retryAfterMs: this.rate.perSecond > 0 ? Math.ceil(((1 - current.tokens) * 1000) / this.rate.perSecond) : Number.POSITIVE_INFINITY };
  }

  /** Told after credentials were refused. */
  failed(address: string): void {
    const now = this.clock.now();
    this.sweep(now);
    const previous = this.buckets.get(address);
    this.buckets.delete(address);
    this.buckets.set(address, take(previous ?? fullBucket(this.rate, now), this.rate, now).bucket);
    while (this.buckets.size > this.maxAddresses) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
  }

  /** Addresses currently tracked (for tests and stats). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.sweepEveryMs) return;
    this.lastSweep = now;
    for (const [address, bucket] of this.buckets) if (isFull(bucket, this.rate, now)) this.buckets.delete(address);
  }
}
