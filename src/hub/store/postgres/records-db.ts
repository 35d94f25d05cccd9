// The PostgreSQL store's access to its one table of records (kind, key, json document): reads,
// transactions (with the controllers' fence checked inside them) and lazy writes batched into
// one transaction at most a second later, or into the next synchronous write, whichever comes
// first: so a join's token use (lazy) and its device record (sync) commit together.
import type pg from 'pg';
import { ConnectionSlots } from './connection-slots.js';
import { FencedOutError, StoreUnavailableError, pgFailure } from './errors.js';
import { errorMessage } from '../../../common/errors.js';

/**
 * How long a request waits for one of this hub's connections (all busy) before StoreBusy. A busy
 * hub is slow, not degraded: only failing to reach the server is (connection-slots.ts).
 */
export const BUSY_WAIT_MS = 15_000;
/** Connections in the store pool unless told (postgresPool's default). */
export const DEFAULT_CONNECTIONS = 10;
/** Lazy writes reach PostgreSQL within this (the repository contract allows a second). */
const LAZY_FLUSH_MS = 250;
const NOT_LEADING = 'this hub does not lead: controller writes are refused (another hub runs the controllers)';
/** A transaction that lost a deadlock or serialization race with another hub is run again. */
const RETRYABLE_SQLSTATE = new Set(['40001', '40P01']);
const TX_ATTEMPTS = 4;
/** The lease whose term fences the controllers' writes (leader-lease.ts holds it). */
export const CONTROLLERS_LEASE = 'controllers';

export type Doc = unknown;
/** A change to one record: given what is stored (undefined: none), what to store (undefined: delete). */
export type RecordChange = (current: Doc | undefined) => Doc | undefined;

/** A queued change; `term`: a controller's, kept only if that is still the lease's term when it is written. */
interface LazyChange {
  apply: RecordChange;
  term?: bigint;
}

interface Pending {
  kind: string;
  key: string;
  changes: LazyChange[];
}

export interface RecordsDbOptions {
  /** The writer's lease term for fenced writes; undefined while it does not lead. Absent: no fencing (one hub). */
  fence?: () => bigint | undefined;
  /** Where the database is, for error messages (`host:port`). */
  where: string;
  /** The pool's size: at most this many of this hub's requests use it at once (DEFAULT_CONNECTIONS). */
  connections?: number;
  /** How long a request waits for a free connection (BUSY_WAIT_MS). */
  busyWaitMs?: number;
  log: (message: string) => void;
}

/** A transaction's view of the table: every write is part of it. */
export class Tx {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly where: string,
  ) {}

  /** Every call into pg goes through here: its failures are typed (see pgFailure); the caller's own errors are not. */
  private async q<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.client.query<R>(sql, params);
    } catch (err) {
      throw pgFailure(err, this.where);
    }
  }

  async get(kind: string, key: string, lock = false): Promise<Doc | undefined> {
    const { rows } = await this.q<{ doc: Doc }>(`SELECT doc FROM ep_records WHERE kind = $1 AND key = $2${lock ? ' FOR UPDATE' : ''}`, [kind, key]);
    return rows[0]?.doc;
  }

  /** Whether a record exists; `share` keeps it from being deleted or changed until this transaction ends. */
  async exists(kind: string, key: string, lock?: 'share'): Promise<boolean> {
    const { rows } = await this.q(`SELECT 1 FROM ep_records WHERE kind = $1 AND key = $2${lock === 'share' ? ' FOR SHARE' : ''}`, [kind, key]);
    return rows.length > 0;
  }

  /** Several records of a kind, locked; absent keys are absent from the map. */
  async getMany(kind: string, keys: readonly string[]): Promise<Map<string, Doc>> {
    if (keys.length === 0) return new Map();
    // Locked in key order: two hubs locking overlapping sets then never wait for each other in a circle.
    const { rows } = await this.q<{ key: string; doc: Doc }>('SELECT key, doc FROM ep_records WHERE kind = $1 AND key = ANY($2) ORDER BY key FOR UPDATE', [kind, [...keys]]);
    return new Map(rows.map((r) => [r.key, r.doc]));
  }

  async all(kind: string, lock = false): Promise<[string, Doc][]> {
    const { rows } = await this.q<{ key: string; doc: Doc }>(`SELECT key, doc FROM ep_records WHERE kind = $1 ORDER BY key${lock ? ' FOR UPDATE' : ''}`, [kind]);
    return rows.map((r) => [r.key, r.doc]);
  }

  async put(kind: string, key: string, doc: Doc): Promise<void> {
    await this.putMany(kind, [[key, doc]]);
  }

  async putMany(kind: string, entries: readonly (readonly [string, Doc])[]): Promise<void> {
    if (entries.length === 0) return;
    await this.q(
      `INSERT INTO ep_records (kind, key, doc) SELECT $1, k, d FROM unnest($2::text[], $3::json[]) AS t(k, d)
       ON CONFLICT (kind, key) DO UPDATE SET doc = EXCLUDED.doc`,
      [kind, entries.map(([k]) => k), entries.map(([, d]) => JSON.stringify(d))],
    );
  }

  /** Inserts unless the key exists; resolves to whether it inserted. */
  async insert(kind: string, key: string, doc: Doc): Promise<boolean> {
    const { rowCount } = await this.q('INSERT INTO ep_records (kind, key, doc) VALUES ($1, $2, $3::json) ON CONFLICT DO NOTHING', [kind, key, JSON.stringify(doc)]);
    return rowCount === 1;
  }

  async delete(kind: string, keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const { rowCount } = await this.q('DELETE FROM ep_records WHERE kind = $1 AND key = ANY($2)', [kind, [...keys]]);
    return rowCount ?? 0;
  }

  /** Refuses the transaction unless `term` is the controllers' lease's current, unexpired term. */
  async checkFence(term: bigint | undefined): Promise<void> {
    if (term === undefined) throw new FencedOutError(NOT_LEADING);
    const lease = await this.lease();
    if (lease.term !== term) throw new FencedOutError(`controller write under lease term ${term} refused: the lease is now ${lease.said}; another hub leads`);
  }

  /** The controllers' lease as this transaction sees it: its term while unexpired, else undefined. */
  async lease(): Promise<{ term: bigint | undefined; said: string }> {
    // FOR SHARE: a new holder cannot take the lease until this write has committed or rolled back.
    const { rows } = await this.q<{ term: string; live: boolean }>('SELECT term::text AS term, expires_at > now() AS live FROM ep_leases WHERE name = $1 FOR SHARE', [CONTROLLERS_LEASE]);
    const lease = rows[0];
    if (!lease) return { term: undefined, said: 'no lease' };
    return { term: lease.live ? BigInt(lease.term) : undefined, said: `term ${lease.term}${lease.live ? '' : ' (expired)'}` };
  }
}

export class RecordsDb {
  private readonly pending = new Map<string, Pending>();
  /**
   * Lazy changes a transaction has taken out of `pending` and not yet committed, oldest batch
   * first. A read of one of their records waits for them: in that window it saw neither the queue
   * nor (surely) the database, and a read-modify-write put an older copy back (a device's status
   * lost to its facts; found by test/integration/three-hubs.test.ts). See get.
   */
  private readonly committing: (readonly Pending[])[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  commits = 0;
  /** Reads in progress, by record: a batch of that record's lazy changes that starts committing marks them stale (see get). */
  private readonly reading = new Map<string, Set<{ stale: boolean }>>();
  /** The last failure to reach the database, cleared by the next success (for /healthz). */
  unavailable: string | undefined;
  private readonly slots: ConnectionSlots;

  constructor(
    readonly pool: pg.Pool,
    private readonly options: RecordsDbOptions,
  ) {
    this.slots = new ConnectionSlots(options.connections ?? DEFAULT_CONNECTIONS, options.busyWaitMs ?? BUSY_WAIT_MS, options.where);
  }

  get where(): string {
    return this.options.where;
  }

  private failed(err: unknown): Error {
    const e = pgFailure(err, this.options.where);
    if ((e as { code?: string }).code === 'StoreUnavailable') this.unavailable = e.message;
    return e;
  }

  /** One query outside a transaction (reads). */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      const { rows } = await this.slots.with(() => this.pool.query<R>(sql, params));
      this.unavailable = undefined;
      return rows;
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** A stored record with this hub's unflushed lazy changes applied. */
  async get(kind: string, key: string): Promise<Doc | undefined> {
    const id = pendingKey(kind, key);
    const inFlight = (): boolean => this.committing.some((batch) => batch.some((e) => pendingKey(e.kind, e.key) === id));
    // A batch of this record's lazy changes being committed may or may not be seen by the SELECT:
    // the server can have committed it, and the SELECT see it, before the COMMIT's answer reaches
    // this process. Applied again on top, its changes counted twice (60 appended events read back
    // with 13 of them twice); not applied, a read-modify-write put the older copy back (a device's
    // status lost to its facts). So the SELECT runs with none of them in flight, and again if one
    // started meanwhile; what goes on top is then only what was never sent.
    for (;;) {
      while (inFlight()) await this.settled();
      const read = { stale: false };
      const readers = this.reading.get(id) ?? new Set();
      this.reading.set(id, readers.add(read));
      let rows: { doc: Doc }[];
      try {
        rows = await this.query<{ doc: Doc }>('SELECT doc FROM ep_records WHERE kind = $1 AND key = $2', [kind, key]);
      } finally {
        readers.delete(read);
        if (readers.size === 0 && this.reading.get(id) === readers) this.reading.delete(id);
      }
      if (read.stale) continue;
      let doc = rows[0]?.doc;
      const waiting = this.pending.get(id);
      if (!waiting) return doc;
      for (const change of waiting.changes) doc = change.apply(doc);
      // A queued change may hand out the object it will write: the caller gets its own copy.
      return doc === undefined ? undefined : structuredClone(doc);
    }
  }

  /** Every record of a kind, after this hub's lazy changes are flushed (a pass sees its own writes). */
  async all(kind: string): Promise<[string, Doc][]> {
    if (this.pending.size > 0) await this.flush();
    const rows = await this.query<{ key: string; doc: Doc }>('SELECT key, doc FROM ep_records WHERE kind = $1 ORDER BY key', [kind]);
    return rows.map((r) => [r.key, r.doc]);
  }

  /**
   * Queues a lazy change; it reaches the database with the next transaction, within LAZY_FLUSH_MS.
   * `fenced`: a controller's change, made under the lease term this hub holds now (FencedOut if
   * none) and dropped when it is written if the lease has moved on meanwhile: a paused old
   * leader's queued events must not land after another hub took over.
   */
  later(kind: string, key: string, change: RecordChange, replaces: boolean | { keepLast: number } = false, fenced = false): void {
    const term = fenced ? this.fenceTerm() : undefined;
    const id = pendingKey(kind, key);
    const entry = this.pending.get(id) ?? { kind, key, changes: [] };
    if (replaces === true) entry.changes = [];
    entry.changes.push(term === undefined ? { apply: change } : { apply: change, term });
    if (typeof replaces === 'object' && entry.changes.length > replaces.keepLast) entry.changes.splice(0, entry.changes.length - replaces.keepLast);
    this.pending.set(id, entry);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch((err: unknown) => this.options.log(`store: lazy writes not stored yet, retried: ${errorMessage(err)}`));
    }, LAZY_FLUSH_MS);
  }

  /** The term a fenced write is made under now; FencedOut while this hub does not lead (undefined: no fencing, one hub). */
  private fenceTerm(): bigint | undefined {
    if (!this.options.fence) return undefined;
    const term = this.options.fence();
    if (term === undefined) throw new FencedOutError(NOT_LEADING);
    return term;
  }

  /** Forgets queued lazy changes of these records (they were deleted). */
  drop(kind: string, key: string): void {
    this.pending.delete(pendingKey(kind, key));
  }

  /** Writes the queued lazy changes in one transaction. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    await this.transaction(async () => undefined);
  }

  /**
   * Runs `work` in one transaction, with every queued lazy change before it; `fenced` checks the
   * controllers' lease term first. Resolves once committed; nothing of it is stored if it throws.
   */
  transaction<R>(work: (tx: Tx) => Promise<R>, options: { fenced?: boolean } = {}): Promise<R> {
    const run = this.runTransaction(work, options);
    this.inFlight.add(run);
    const forget = (): void => void this.inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  private async runTransaction<R>(work: (tx: Tx) => Promise<R>, options: { fenced?: boolean }): Promise<R> {
    const where = this.options.where;
    const viaPg = async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (err) {
        throw pgFailure(err, where);
      }
    };
    for (let attempt = 1; ; attempt++) {
      const lazy = [...this.pending.values()];
      this.pending.clear();
      if (lazy.length > 0) this.committing.push(lazy);
      for (const entry of lazy) for (const read of this.reading.get(pendingKey(entry.kind, entry.key)) ?? []) read.stale = true;
      const settle = (): void => {
        const at = this.committing.indexOf(lazy);
        if (at >= 0) this.committing.splice(at, 1);
      };
      let client: pg.PoolClient | undefined;
      let broken = false;
      let giveSlot: (() => void) | undefined;
      try {
        giveSlot = await this.slots.acquire();
        client = await viaPg(() => this.pool.connect());
        const connected = client;
        await viaPg(() => connected.query('BEGIN'));
        const tx = new Tx(connected, where);
        if (options.fenced && this.options.fence) await tx.checkFence(this.options.fence());
        const dropped = await applyLazy(tx, lazy);
        if (dropped) this.options.log(`store: ${dropped.count} controller write(s) of lease term ${dropped.terms} dropped: the lease is now ${dropped.lease} (another hub leads)`);
        const result = await work(tx);
        await viaPg(() => connected.query('COMMIT'));
        settle();
        this.commits += 1;
        this.unavailable = undefined;
        return result;
      } catch (err) {
        broken = err instanceof StoreUnavailableError;
        if (broken) this.unavailable = errorMessage(err);
        else if (client) await client.query('ROLLBACK').catch(() => undefined);
        // Back in the queue in the same step as out of `committing`: a read sees them exactly once.
        settle();
        this.requeue(lazy);
        const code = (err as { code?: unknown }).code;
        if (attempt < TX_ATTEMPTS && typeof code === 'string' && RETRYABLE_SQLSTATE.has(code)) continue;
        throw err;
      } finally {
        // A client whose connection broke is destroyed, not returned to the pool.
        client?.release(broken);
        giveSlot?.();
      }
    }
  }

  /** Lazy changes of a failed transaction go back in front of those queued since. */
  private requeue(lazy: readonly Pending[]): void {
    if (lazy.length === 0) return;
    for (const entry of lazy) {
      const id = pendingKey(entry.kind, entry.key);
      const newer = this.pending.get(id);
      this.pending.set(id, { ...entry, changes: [...entry.changes, ...(newer?.changes ?? [])] });
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch((err: unknown) => this.options.log(`store: lazy writes not stored yet, retried: ${errorMessage(err)}`));
    }, LAZY_FLUSH_MS * 4);
  }

  /** Resolves once every transaction started so far has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.settled();
    try {
      await this.flush();
    } catch (err) {
      // Only observed state is lazy (devices send it again to whichever hub they reach): a hub
      // stopping while PostgreSQL is down says what it could not store and stops anyway.
      this.options.log(`store: ${this.pending.size} lazy writes not stored at close: ${errorMessage(err)}`);
    } finally {
      await this.pool.end();
    }
  }
}

const pendingKey = (kind: string, key: string): string => `${kind}\u0000${key}`;

/** Writes queued changes; those of a lease term that is no longer current are left out and counted. */
async function applyLazy(tx: Tx, lazy: readonly Pending[]): Promise<{ count: number; terms: string; lease: string } | undefined> {
  const fenced = lazy.some((entry) => entry.changes.some((c) => c.term !== undefined));
  // Read (and held FOR SHARE) once per transaction, only when some change needs it.
  const lease = fenced ? await tx.lease() : undefined;
  const droppedTerms = new Set<bigint>();
  const kept = (change: LazyChange): boolean => {
    if (change.term === undefined || change.term === lease?.term) return true;
    droppedTerms.add(change.term);
    return false;
  };
  let count = 0;
  const byKind = new Map<string, Pending[]>();
  for (const entry of lazy) byKind.set(entry.kind, [...(byKind.get(entry.kind) ?? []), entry]);
  // Kinds in one order on every hub, keys in order within a kind (getMany): two batches locking
  // the same rows take them in the same order and never wait for each other in a circle. In the
  // order they were queued, a batch of [observed, tokens] met one of [tokens, observed]: 124
  // deadlocks (a second's wait each, the join token's row held meanwhile) in a 3-hub storm.
  for (const kind of [...byKind.keys()].sort()) {
    const entries = byKind.get(kind) ?? [];
    const current = await tx.getMany(kind, entries.map((e) => e.key));
    const puts: [string, Doc][] = [];
    const deletes: string[] = [];
    for (const entry of entries) {
      const changes = entry.changes.filter(kept);
      count += entry.changes.length - changes.length;
      if (changes.length === 0) continue;
      let doc = current.get(entry.key);
      for (const change of changes) doc = change.apply(doc);
      if (doc === undefined) deletes.push(entry.key);
      else puts.push([entry.key, doc]);
    }
    // Rows not yet stored are inserted in key order too (their unique keys are locked as they go in).
    await tx.putMany(kind, puts.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await tx.delete(kind, deletes);
  }
  return count === 0 ? undefined : { count, terms: [...droppedTerms].join(', '), lease: lease?.said ?? 'no lease' };
}
