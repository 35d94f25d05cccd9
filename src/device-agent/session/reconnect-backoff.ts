/**
 * When to knock again after the broker went away. A whole site loses power, or the hub restarts,
 * and every board notices in the same second: with a fixed retry period they would all knock
 * again in the same millisecond, again and again. "Full jitter" spreads each retry uniformly over
 * [0, min(cap, base · 2^attempt)), so the arrivals thin out into a flat stream the hub can take,
 * while a device that lost the connection once still comes back within about `baseMs`.
 */
export interface ReconnectBackoff {
  /** The upper bound of the first retry's delay. */
  baseMs: number;
  /** No retry ever waits longer than this, however often it failed (bounds the recovery time). */
  capMs: number;
}

/** The agent's default: first retry within 1 s, never more than 10 s between attempts. */
export const defaultReconnectBackoff: ReconnectBackoff = { baseMs: 1000, capMs: 10_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry after a connection was lost).
 * `random` returns a number in [0, 1) (Math.random in the agent, a fixed sequence in tests).
 */
export function reconnectDelayMs(attempt: number, backoff: ReconnectBackoff, random: () => number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * ceiling);
}

/** However long a hub asks to be left alone, a device knocks again within this (a typo in a hub must not park a fleet for a day). */
export const MAX_NOT_BEFORE_MS = 10 * 60_000;

/**
 * The delay before retry number `attempt` after the hub or broker said "not now": its wait
 * (Retry-After, `notBeforeMs`; none for a CONNACK refusal, which carries no time in MQTT 3.1.1)
 * plus full jitter on top. Honouring Retry-After alone would bring every refused device back at
 * the same instant, to be refused together again; the jitter spreads them over the interval after it.
 */
export function retryDelayMs(attempt: number, backoff: ReconnectBackoff, random: () => number, notBeforeMs = 0): number {
  const wait = Number.isFinite(notBeforeMs) ? Math.min(Math.max(0, Math.floor(notBeforeMs)), MAX_NOT_BEFORE_MS) : MAX_NOT_BEFORE_MS;
  return wait + reconnectDelayMs(attempt, backoff, random);
}

/**
 * An HTTP Retry-After value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) in milliseconds
 * from `nowMs`; undefined when absent or unreadable (the caller's own backoff applies then).
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only a date with a day or month name: Date.parse reads "-3" as a year.
  const date = /[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
