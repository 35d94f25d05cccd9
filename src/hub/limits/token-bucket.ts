/**
 * A token bucket as a value: `capacity` tokens at most, refilled at `perSecond`. Pure: the time
 * is an argument, so the same inputs always give the same answer (unit-tested without sleeping).
 */
export interface BucketRate {
  /** Tokens refilled per second (the sustained rate). */
  readonly perSecond: number;
  /** Tokens held at most (the burst a quiet sender may spend at once). */
  readonly capacity: number;
}

export interface Bucket {
  readonly tokens: number;
  /** When `tokens` was computed, in the clock's milliseconds. */
  readonly at: number;
}

export type Take = { readonly ok: true; readonly bucket: Bucket } | { readonly ok: false; readonly bucket: Bucket; readonly retryAfterMs: number };

export function fullBucket(rate: BucketRate, now: number): Bucket {
  return { tokens: rate.capacity, at: now };
}

/** The bucket's level at `now` (time running backwards, a stepped clock, refills nothing). */
export function refilled(bucket: Bucket, rate: BucketRate, now: number): Bucket {
  const elapsed = Math.max(0, now - bucket.at);
  return { tokens: Math.min(rate.capacity, bucket.tokens + (elapsed * rate.perSecond) / 1000), at: Math.max(now, bucket.at) };
}

/** Takes one token if there is one; otherwise says how long until there will be. */
export function take(bucket: Bucket, rate: BucketRate, now: number): Take {
  const current = refilled(bucket, rate, now);
  if (current.tokens >= 1) return { ok: true, bucket: { tokens: current.tokens - 1, at: current.at } };
  const retryAfterMs = rate.perSecond > 0 ? Math.ceil(((1 - current.tokens) * 1000) / rate.perSecond) : Number.POSITIVE_INFINITY;
  return { ok: false, bucket: current, retryAfterMs };
}

/** True when the bucket is full at `now`, so forgetting it changes nothing. */
export function isFull(bucket: Bucket, rate: BucketRate, now: number): boolean {
  return refilled(bucket, rate, now).tokens >= rate.capacity;
}
