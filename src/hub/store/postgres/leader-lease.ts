// The controllers' leader lease in PostgreSQL (issue 15): one row (holder, term, expires_at by
// the database's clock). The holder renews every lease/3; a hub that finds the lease run out
// takes it in a new term, the fencing token its controller writes carry (records-db.ts checks it
// inside each write's transaction). Leadership is lost at once when a renewal fails, finds
// another holder, or comes later than the lease: controllers stop before anyone else can start.
import type pg from 'pg';
import type { Leadership } from '../../leadership/leadership.js';
import { CONTROLLERS_LEASE } from './records-db.js';
import { decideLease, type LeaseDecision } from './lease-decision.js';
import { migrate, readMigrations } from './migrate.js';
import { errorMessage } from '../../../common/errors.js';

export interface LeaderLeaseOptions {
  pool: pg.Pool;
  /** This hub's name in the lease row (unique among the hubs: a host name plus the process id, say). */
  holder: string;
  /** How long a lease lasts unrenewed; another hub takes over at most this long after a leader dies. */
  leaseMs: number;
  log: (message: string) => void;
  /** The lease's row; the controllers' by default. */
  name?: string;
}

export class PostgresLeaderLease implements Leadership {
  private current: bigint | undefined;
  private readonly listeners = new Set<(leading: boolean) => void>();
  private timer: NodeJS.Timeout | undefined;
  /** When (process clock) the lease was last confirmed held: past leaseMs, it is not ours whatever we think. */
  private confirmedAt = 0;
  private stopped = false;
  private readonly name: string;

  constructor(private readonly options: LeaderLeaseOptions) {
    this.name = options.name ?? CONTROLLERS_LEASE;
  }

  get leading(): boolean {
    return this.current !== undefined && performance.now() - this.confirmedAt < this.options.leaseMs;
  }

  get term(): bigint | undefined {
    return this.leading ? this.current : undefined;
  }

  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Makes sure the lease table exists, makes the first attempt, then keeps trying every lease/3. */
  async start(): Promise<void> {
    await migrate(this.options.pool, await readMigrations());
    await this.tick();
    this.schedule();
  }

  /** One attempt to acquire or renew (exposed for tests that drive it step by step). */
  async tick(): Promise<void> {
    if (this.stopped) return;
    // A renewal later than the lease (the process was paused): leadership is already gone.
    if (this.current !== undefined && performance.now() - this.confirmedAt >= this.options.leaseMs) this.set(undefined, 'the lease ran out before it was renewed');
    const asked = performance.now();
    let decision: LeaseDecision;
    try {
      decision = await this.attempt();
    } catch (err) {
      this.set(undefined, `renewing the lease failed: ${errorMessage(err)}`);
      return;
    }
    if (this.stopped) return;
    if (decision.action === 'follow') {
      this.set(undefined, `hub ${decision.holder} leads in term ${decision.term}`);
      return;
    }
    // Counted from when we asked: the database's expiry is at least that far out.
    this.confirmedAt = asked;
    if (this.current !== undefined && this.current !== decision.term) this.set(undefined, `the lease moved to term ${decision.term}`);
    this.set(decision.term, decision.action === 'acquire' ? `took the lease in term ${decision.term}` : undefined);
  }

  private async attempt(): Promise<LeaseDecision> {
    const client = await this.options.pool.connect();
    let ok = false;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ holder: string; term: string; expires_ms: string; now_ms: string }>(
        `SELECT holder, term::text AS term, (extract(epoch FROM expires_at) * 1000)::bigint::text AS expires_ms,
                (extract(epoch FROM now()) * 1000)::bigint::text AS now_ms
         FROM ep_leases WHERE name = $1 FOR UPDATE`,
        [this.name],
      );
      const row = rows[0];
      const now = row ? Number(row.now_ms) : 0;
      const decision = decideLease(row && { holder: row.holder, term: BigInt(row.term), expiresAt: Number(row.expires_ms) }, now, this.options.holder);
      const interval = `${this.options.leaseMs} milliseconds`;
      if (decision.action === 'acquire' && row === undefined) {
        // Two hubs may both find no row: the insert decides, the loser follows until its next try.
        const inserted = await client.query(`INSERT INTO ep_leases (name, holder, term, expires_at) VALUES ($1, $2, $3, now() + $4::interval) ON CONFLICT DO NOTHING`, [
          this.name,
          this.options.holder,
          decision.term.toString(),
          interval,
        ]);
        await client.query('COMMIT');
        ok = true;
        return inserted.rowCount === 1 ? decision : { action: 'follow', holder: 'another hub', term: decision.term };
      }
      if (decision.action !== 'follow') {
        await client.query(`UPDATE ep_leases SET holder = $2, term = $3, expires_at = now() + $4::interval WHERE name = $1`, [this.name, this.options.holder, decision.term.toString(), interval]);
      }
      await client.query('COMMIT');
      ok = true;
      return decision;
    } finally {
      if (!ok) await client.query('ROLLBACK').catch(() => undefined);
      client.release(!ok);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick()
        .catch((err: unknown) => this.options.log(`leader lease: ${errorMessage(err)}`))
        .finally(() => this.schedule());
    }, Math.max(50, Math.floor(this.options.leaseMs / 3)));
  }

  private set(term: bigint | undefined, why: string | undefined): void {
    const was = this.current !== undefined;
    this.current = term;
    const now = term !== undefined;
    if (why !== undefined && was !== now) this.options.log(`leader lease: ${now ? 'leading' : 'not leading'}: ${why}`);
    if (was !== now) for (const listener of this.listeners) listener(now);
  }

  /** Stops renewing without giving the lease up: what a paused or cut-off hub does (tests). */
  halt(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async stop(): Promise<void> {
    const term = this.current;
    this.halt();
    this.set(undefined, 'stopped');
    if (term === undefined) return;
    // Given up at once: another hub takes over at its next try instead of after the lease.
    await this.options.pool
      .query(`UPDATE ep_leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND term = $3`, [this.name, this.options.holder, term.toString()])
      .catch((err: unknown) => this.options.log(`leader lease: giving up the lease failed (${errorMessage(err)}); it runs out by itself`));
  }
}
