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
