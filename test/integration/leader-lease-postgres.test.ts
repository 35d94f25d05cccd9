import test from 'ava';
import { FencedOutError } from '../../src/hub/store/postgres/errors.js';
import { PostgresLeaderLease } from '../../src/hub/store/postgres/leader-lease.js';
import { openPostgresStore, postgresPool } from '../../src/hub/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { job, workload } from '../support/store-contract.js';
import { eventSubjects, type DeviceEvent } from '../../src/hub/store/records.js';

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

test("a paused old leader's controller events and Job writes are fenced: refused, or dropped when written; the API's still land", async (t) => {
  const url = await freshDatabase(t);
  const pool = postgresPool(url, quiet);
  const a = new PostgresLeaderLease({ pool, holder: 'hub-a', leaseMs: LEASE_MS, log: quiet });
  const b = new PostgresLeaderLease({ pool, holder: 'hub-b', leaseMs: LEASE_MS, log: quiet });
  t.teardown(async () => {
    await a.stop();
    await b.stop();
    await pool.end();
  });
  await a.start();
  await b.start();
  const termA = a.term;
  t.is(termA, 1n);
  const said: string[] = [];
  // A's controllers keep the term they started with: what a paused process still believes.
  const storeA = await openPostgresStore(url, { fence: () => termA, log: (m) => said.push(m) });
  const storeB = await openPostgresStore(url, { fence: () => b.term, log: quiet });
  t.teardown(() => Promise.all([storeA.close(), storeB.close()]).then(() => undefined));
  const controllersA = storeA.forControllers();
  const controllersB = storeB.forControllers();
  await storeA.jobs.putAll([job('nightly')]);
  const event = (reason: string): DeviceEvent => ({ time: new Date(0).toISOString(), type: 'Normal', reason, message: reason });
  const subject = eventSubjects.job('nightly');

  // While A leads its controllers write events and Jobs; B's (a follower's) are refused at once.
  await controllersA.events.append(subject, event('UnderTermOne'));
  await controllersA.jobs.putAll([{ ...job('nightly'), assigned: ['dev-1'] }]);
  await t.throwsAsync(controllersB.events.append(subject, event('Follower')), { instanceOf: FencedOutError });
  await t.throwsAsync(controllersB.jobs.putAll([job('nightly')]), { instanceOf: FencedOutError });
  await waitFor('the leader event stored', async () => ((await storeB.events.list(subject)).length === 1 ? true : undefined), 5000, 50);

  a.halt();
  await waitFor('hub-b leads', async () => (b.leading ? true : undefined), 10_000, 50);
  // A, paused, still writes under term 1: its Job writes are refused in their transaction, and
  // its events (queued, lazy) are dropped when they are written.
  await t.throwsAsync(controllersA.jobs.putAll([{ ...job('nightly'), assigned: ['dev-9'] }]), { instanceOf: FencedOutError });
  await t.throwsAsync(controllersA.jobs.delete('nightly'), { instanceOf: FencedOutError });
  await controllersA.events.append(subject, event('LateOldLeader'));
  await storeA.events.append(subject, event('ApiOnA'));
  await controllersB.events.append(subject, event('NewLeader'));
  await controllersB.jobs.putAll([{ ...job('nightly'), assigned: ['dev-2'] }]);
  await waitFor('the events written', async () => ((await storeB.events.list(subject)).length === 3 ? true : undefined), 5000, 50);
  await new Promise((resolve) => setTimeout(resolve, 600)); // one more lazy flush could not add the late one either
  t.deepEqual((await storeB.events.list(subject)).map((e) => e.reason).sort(), ['ApiOnA', 'NewLeader', 'UnderTermOne']);
  t.deepEqual((await storeB.jobs.get('nightly'))?.assigned, ['dev-2'], "the new leader's assignment stands");
  t.true(said.some((m) => /1 controller write\(s\) of lease term 1 dropped: the lease is now term 2/.test(m)), said.join('\n'));
  // The API's Job writes are any hub's.
  await storeA.jobs.putAll([{ ...job('nightly'), assigned: [] }]);
  t.deepEqual((await storeB.jobs.get('nightly'))?.assigned, []);
});

test("the leader lease renews on a pool of its own: a store pool busy with every connection does not cost the leader its lease", async (t) => {
  const url = await freshDatabase(t);
  const store = await openPostgresStore(url, { log: quiet, poolSize: 2 });
  const own = new PostgresLeaderLease({ pool: store.leaderLeasePool(), holder: 'hub-a', leaseMs: 60_000, log: quiet, name: 'own-pool' });
  const shared = new PostgresLeaderLease({ pool: store.pool, holder: 'hub-a', leaseMs: 60_000, log: quiet, name: 'shared-pool' });
  await own.start();
  await shared.start();
  t.true(own.leading);
  t.true(shared.leading);
  // A pass's or a join storm's transactions hold every connection of the store's pool.
  const held = await Promise.all([store.pool.connect(), store.pool.connect()]);
  t.teardown(async () => {
    for (const client of held) client.release();
    own.halt();
    shared.halt();
    await store.close();
  });
  await own.tick();
  t.true(own.leading, 'renewed on its own pool');
  await shared.tick();
  t.false(shared.leading, 'on the busy store pool the renewal waited past its connect timeout: leadership lost');
});
