// A PostgreSQL store whose connections are all in use is busy, not down (issue 15): a request
// that waits too long for one is refused with StoreBusy and the hub stays healthy; a server that
// cannot be reached is StoreUnavailable and the hub is degraded. The pool is a fake that can
// hold its connections and refuse new ones; RecordsDb is the real one.
import test from 'ava';
import type pg from 'pg';
import { RecordsDb } from '../../../src/hub/store/postgres/records-db.js';

class FakePool {
  connects = 0;
  refuse = false;
  async connect(): Promise<pg.PoolClient> {
    this.connects += 1;
    if (this.refuse) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:55432'), { code: 'ECONNREFUSED', errno: -111 });
    return { query: async () => ({ rows: [], rowCount: 0 }), release: () => undefined } as unknown as pg.PoolClient;
  }
  async query(): Promise<pg.QueryResult> {
    await this.connect();
    return { rows: [], rowCount: 0 } as unknown as pg.QueryResult;
  }
  async end(): Promise<void> {
    // nothing held
  }
}

function recordsDb(pool: FakePool): RecordsDb {
  return new RecordsDb(pool as unknown as pg.Pool, { where: '127.0.0.1:55432', log: () => undefined, connections: 2, busyWaitMs: 20 });
}

test('every connection in use: the next request is refused StoreBusy without asking the pool, and the hub is not degraded', async (t) => {
  const pool = new FakePool();
  const db = recordsDb(pool);
  let finish: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (finish = resolve));
  const long = [db.transaction(() => held), db.transaction(() => held)];
  const refused = await t.throwsAsync(db.transaction(async () => 'late'), { code: 'StoreBusy' });
  t.regex(refused?.message ?? '', /busy: all 2 connections of this hub were in use/);
  await t.throwsAsync(db.query('SELECT 1'), { code: 'StoreBusy' }, 'a read waits for a connection too');
  t.is(pool.connects, 2, 'the pool was asked only for the two it had');
  t.is(db.unavailable, undefined, 'busy is not unavailable: /healthz stays ok');
  finish();
  await Promise.all(long);
  t.is(await db.transaction(async () => 'next'), 'next', 'a connection given back serves the next request');
});

test('a server that refuses connections is StoreUnavailable and the hub is degraded until a request succeeds', async (t) => {
  const pool = new FakePool();
  const db = recordsDb(pool);
  pool.refuse = true;
  await t.throwsAsync(db.transaction(async () => undefined), { code: 'StoreUnavailable' });
  t.regex(db.unavailable ?? '', /PostgreSQL at 127\.0\.0\.1:55432\) is unavailable: connect ECONNREFUSED/);
  // The failed attempts gave their slots back: both connections are free again.
  pool.refuse = false;
  await Promise.all([db.query('SELECT 1'), db.query('SELECT 1')]);
  t.is(db.unavailable, undefined);
});
