import test from 'ava';
import { FencedOutError } from '../../src/hub/store/postgres/errors.js';
import { PostgresLeaderLease } from '../../src/hub/store/postgres/leader-lease.js';
import { openPostgresStore, postgresPool } from '../../src/hub/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { workload } from '../support/store-contract.js';

const LEASE_MS = 900;
const quiet = (): undefined => undefined;

test('one hub leads at a time; a paused old leader is fenced out once another takes the lease, the new leader writes', async (t) => {
  const url = await freshDatabase(t);
  const poolA = postgresPool(url, quiet);
  const poolB = postgresPool(url, quiet);
  const a = new PostgresLeaderLease({ pool: poolA, holder: 'hub-a', leaseMs: LEASE_MS, log: quiet });
  const b = new PostgresLeaderLease({ pool: poolB, holder: 'hub-b', leaseMs: LEASE_MS, log: quiet });
  t.teardown(async () => {
    await a.stop();
    await b.stop();
    await poolA.end();
    await poolB.end();
  });
  await a.start();
  t.true(a.leading);
  t.is(a.term, 1n);
  await b.start();
  t.false(b.leading, 'the second hub follows while the lease is held');
  t.is(b.term, undefined);

  // A's controllers write under the term they started with (what a paused process still holds).
  const termA = a.term;
  const storeA = await openPostgresStore(url, { fence: () => termA, log: quiet });
  const storeB = await openPostgresStore(url, { fence: () => b.term, log: quiet });
  t.teardown(() => Promise.all([storeA.close(), storeB.close()]).then(() => undefined));
  await storeA.placements.put({ workload: 'web', replicas: { '0': 'dev-1' } });
  await t.throwsAsync(storeB.placements.put({ workload: 'web', replicas: { '0': 'dev-2' } }), { instanceOf: FencedOutError }, 'a follower cannot write');

  // A pauses: it stops renewing without giving the lease up. B takes over after the lease.
  const lostAt: boolean[] = [];
  b.onChange((leading) => lostAt.push(leading));
  a.halt();
  await waitFor('hub-b leads', async () => (b.leading ? true : undefined), 10_000, 50);
  t.is(b.term, 2n, 'the new leader holds a higher term');
  t.deepEqual(lostAt, [true]);

  const err = await t.throwsAsync(storeA.placements.put({ workload: 'web', replicas: { '0': 'dev-3' } }), { instanceOf: FencedOutError });
  t.is(err?.code, 'FencedOut');
  await t.throwsAsync(storeA.deviceState.putDesired('dev-1', { generation: 9, issuedAt: new Date(0).toISOString(), instances: [] }), { instanceOf: FencedOutError });
  await t.throwsAsync(storeA.releasePins.set(['dev-1'], null), { instanceOf: FencedOutError });
  await storeB.placements.put({ workload: 'web', replicas: { '0': 'dev-2' } });
  t.deepEqual((await storeA.placements.get('web'))?.replicas, { '0': 'dev-2' }, "the new leader's write stands; the old one's never landed");
  // Writes that are not the controllers' still work on the old leader (any hub serves the API).
  await storeA.workloads.putAll([workload('web')]);
  t.truthy(await storeB.workloads.get('web'));
});

test('a leader that stops gives the lease up: the next hub takes it at its next try, not after the lease', async (t) => {
  const url = await freshDatabase(t);
  const pool = postgresPool(url, quiet);
  t.teardown(() => pool.end());
  const a = new PostgresLeaderLease({ pool, holder: 'hub-a', leaseMs: 60_000, log: quiet });
  const b = new PostgresLeaderLease({ pool, holder: 'hub-b', leaseMs: 60_000, log: quiet });
  t.teardown(() => b.stop());
  await a.start();
  await b.start();
  t.false(b.leading);
  const changes: boolean[] = [];
  a.onChange((leading) => changes.push(leading));
  await a.stop();
  t.deepEqual(changes, [false]);
  await b.tick();
  t.true(b.leading);
  t.is(b.term, 2n);
});
