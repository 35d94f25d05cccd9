import type { BackoffPolicy } from './model.js';

/**
 * CrashLoopBackOff as the kubelet does it: the n-th consecutive failure waits base·2^(n-1),
 * capped at max (10 s, 20 s, 40 s … 5 min).
 */
export function backoffDelay(crashStreak: number, policy: BackoffPolicy): number {
  if (crashStreak <= 0) return 0;
  return Math.min(policy.baseMs * 2 ** Math.min(crashStreak - 1, 30), policy.maxMs);
}

/** The streak after an exit: a run longer than resetAfter starts a new streak. */
export function nextCrashStreak(previous: number, runMs: number | undefined, policy: BackoffPolicy): number {
  if (runMs !== undefined && runMs >= policy.resetAfterMs) return 1;
  return previous + 1;
}

/**
 * Whether a backoff deadline (wall-clock time, kept across agent restarts) still holds at `now`.
 * One further ahead than the longest backoff can only come from a clock stepped back since it was
 * set (NTP on a board that booted without a real-time clock); waiting for it could take hours, so
 * it is treated as passed.
 */
export function backoffHolds(nextStartAt: number | undefined, now: number, policy: BackoffPolicy): nextStartAt is number {
  return nextStartAt !== undefined && now < nextStartAt && nextStartAt - now <= policy.maxMs;
}
