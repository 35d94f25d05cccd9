// The leader lease's decision, pure: given the lease row as the database holds it, the
// database's time and who asks, what the asker does. Times are the database's, never a hub's:
// two hubs with skewed clocks still agree on whether a lease has run out.

export interface LeaseRow {
  holder: string;
  /** The fencing token: raised by every new holder, never reused. */
  term: bigint;
  /** Milliseconds since the epoch, by the database's clock. */
  expiresAt: number;
}

export type LeaseDecision =
  /** Take the lease in a new term (nobody holds it, or the holder's ran out). */
  | { action: 'acquire'; term: bigint }
  /** Extend the lease held now, in the same term. */
  | { action: 'renew'; term: bigint }
  /** Someone else holds an unexpired lease. */
  | { action: 'follow'; holder: string; term: bigint };

export function decideLease(row: LeaseRow | undefined, now: number, me: string): LeaseDecision {
  if (row === undefined) return { action: 'acquire', term: 1n };
  const live = row.expiresAt > now;
  if (live && row.holder === me) return { action: 'renew', term: row.term };
  if (live) return { action: 'follow', holder: row.holder, term: row.term };
  // Run out, even if it was ours: a new term, since writes under the old one may have been
  // refused meanwhile, and a hub that was paused must not think it kept its term.
  return { action: 'acquire', term: row.term + 1n };
}
