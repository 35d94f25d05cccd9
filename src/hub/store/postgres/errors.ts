// Typed errors of the PostgreSQL store: callers branch on `code`, the API answers 503 to both.

/** PostgreSQL cannot be reached (or answered too late): nothing was written; retry later. */
export class StoreUnavailableError extends Error {
  readonly code = 'StoreUnavailable';
  readonly statusCode = 503;
}

/**
 * Every connection of this hub's pool stayed in use for the bounded wait (connection-slots.ts):
 * the hub is busy, PostgreSQL is not down; nothing was written; retry. Not a degraded hub.
 */
export class StoreBusyError extends Error {
  readonly code = 'StoreBusy';
  readonly statusCode = 503;
}

/**
 * A controller write under a lease term that is no longer the current one (another hub leads now,
 * or the lease ran out): refused inside the write's transaction, so nothing of it was stored.
 */
export class FencedOutError extends Error {
  readonly code = 'FencedOut';
  readonly statusCode = 503;
}

/** SQLSTATE classes that mean "the database is not there (now)", not "the query is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;

/**
 * What a failed call into `pg` (connect or query; never our own code) means for the caller: an
 * SQL error from the server (it has a severity and a SQLSTATE) passes on, unless its state says the
 * server is shutting down or out of connections; anything else `pg` throws (socket refused or
 * reset, connection ended, timeouts) is the database being unreachable.
 */
export function pgFailure(err: unknown, where: string): Error {
  if (err instanceof FencedOutError || err instanceof StoreUnavailableError || err instanceof StoreBusyError) return err;
  const sqlState = typeof err === 'object' && err !== null && 'severity' in err ? (err as { code?: unknown }).code : undefined;
  if (typeof sqlState === 'string' && !UNAVAILABLE_SQLSTATE.test(sqlState)) return err as Error;
  const detail = err instanceof Error ? err.message || (err as { code?: string }).code || err.name : String(err);
  return new StoreUnavailableError(`the store (PostgreSQL at ${where}) is unavailable: ${detail}`);
}
