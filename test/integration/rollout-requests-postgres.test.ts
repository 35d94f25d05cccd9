// The queue of rollout requests on PostgreSQL (issue 15): any hub adds (a hub that does not lead
// too), every hub lists them in the order asked, and only the leader's controllers take them off
// (fenced by the lease term: a follower's or a deposed leader's controllers cannot).
import test from 'ava';
import { FencedOutError } from '../../src/hub/store/postgres/errors.js';
import { PostgresLeaderLease } from '../../src/hub/store/postgres/leader-lease.js';
import { openPostgresStore, postgresPool } from '../../src/hub/store/postgres/postgres-store.js';
import type { RolloutRequestRecord } from '../../src/hub/store/rollout-requests.js';
import { freshDatabase } from '../support/postgres.js';

const quiet = (): undefined => undefined;
const request = (ms: number, type: 'pause' | 'resume'): RolloutRequestRecord => ({
  id: `${ms}-00000000-0000-4000-8000-${String(ms).slice(-12).padStart(12, '0')}`,
  rollout: 'ro',
  at: new Date(ms).toISOString(),
  request: { type: 'command', command: { type } },
});

test('a follower adds rollout requests; they list oldest first; only the leader takes them off', async (t) => {
  const url = await freshDatabase(t);
  const pool = postgresPool(url, quiet);
  const lease = new PostgresLeaderLease({ pool, holder: 'hub-a', leaseMs: 5000, log: quiet });
  await lease.start();
  const leader = await openPostgresStore(url, { fence: () => lease.term, log: quiet });
  const follower = await openPostgresStore(url, { fence: () => undefined, log: quiet });
  t.teardown(async () => {
    await lease.stop();
    await Promise.all([leader.close(), follower.close(), pool.end()]);
  });
  const queue = follower.rolloutRequests;
  await queue.add(request(1764568800200, 'resume'));
  await queue.add(request(1764568800100, 'pause'));
  await t.throwsAsync(queue.add({ ...request(1764568800300, 'pause'), rollout: 'Not A Name' }), undefined, 'checked before it is stored');
  const { requests, unreadable } = await leader.rolloutRequests.list();
  t.deepEqual(requests.map((r) => r.request.type === 'command' && r.request.command.type), ['pause', 'resume']);
  t.deepEqual(unreadable, []);
  const first = requests[0]!.id;
  await t.throwsAsync(follower.forControllers().rolloutRequests!.remove(first), { instanceOf: FencedOutError }, "a follower's controllers take nothing");
  t.true(await follower.rolloutRequests.has(first));
  await leader.forControllers().rolloutRequests!.remove(first);
  t.false(await follower.rolloutRequests.has(first));
  t.is((await follower.rolloutRequests.list()).requests.length, 1);
});
