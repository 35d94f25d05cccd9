// Which hub runs the controllers (placement, autoscaling, evictions, rollouts, jobs). With the
// embedded store there is one hub and it always leads (SoleLeadership); with PostgreSQL several
// hubs share a store and a lease decides (issue 15). Controllers start when `leading` turns true
// and stop at once when it turns false; every controller write carries `term`, the fencing token
// of the lease it was made under, so a paused old leader's late writes are refused by the store.

export interface Leadership {
  /** Whether this hub may run controllers now. */
  readonly leading: boolean;
  /** The fencing token of the term this hub leads in; undefined while it does not lead. */
  readonly term: bigint | undefined;
  /** Called on every change of `leading`; returns the unsubscribe. */
  onChange(listener: (leading: boolean) => void): () => void;
  /** Gives up the lease (if held) and stops renewing it. */
  stop(): Promise<void>;
}

/**
 * What a controller set of a term that is over is refused (a publish of a desired document): the
 * set was stopped, or the lease ran out before it was renewed (a paused process that woke up).
 */
export class NotLeadingError extends Error {
  readonly code = 'NotLeading';
}

/** A controller write the lease refused (FencedOut, from a shared store) or a publish a set no longer live was refused (NotLeading). */
export function leadershipLost(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'FencedOut' || code === 'NotLeading';
}

/** One hub, one store: it leads from start to stop, in term 1. */
export class SoleLeadership implements Leadership {
  readonly leading = true;
  readonly term = 1n;
  onChange(): () => void {
    return () => undefined;
  }
  async stop(): Promise<void> {
    // nothing held
  }
}
