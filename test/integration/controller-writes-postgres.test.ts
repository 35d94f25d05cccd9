// The API's writes against the controllers' on one PostgreSQL (issue 15): another hub's API
// deletes a device, or re-applies a Job, inside the moment the leader's controller writes what
// it worked out before. The other hub's transaction is held open by the test (its first
// statement made, not committed), so the controller's write meets it every time instead of
// once in a while. A controller of a hub that no longer leads writes nothing.
import test from 'ava';
import pg from 'pg';
import { FencedOutError } from '../../src/hub/store/postgres/errors.js';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import type { DesiredState } from '../../src/protocol/index.js';
import { freshDatabase } from '../support/postgres.js';
import { device, job } from '../support/store-contract.js';

const quiet = (): undefined => undefined;
const desired = (generation: number): DesiredState => ({ generation, issuedAt: new Date(0).toISOString(), instances: [] });

/** A session of "another hub" whose transaction the test opens, advances and commits by hand. */
async function otherHub(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Resolves once a session of this database waits on a lock (the controller's write, on the held transaction's row). */
async function waitsOnLock(client: pg.Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
    if (Number(rows[0]?.n) > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the controller write never waited on the held transaction');
}

test("a device deleted by another hub while the leader writes its desired document: the document is not stored (it was, for a device that no longer exists)", async (t) => {
  const url = await freshDatabase(t);
  const store = await openPostgresStore(url, { log: quiet });
  t.teardown(() => store.close());
  await store.devices.put(device('gw-1'), 'sync');
  const other = await otherHub(url);
  t.teardown(() => other.end());
  // The other hub's API delete has deleted the device row and not committed yet.
  await other.query('BEGIN');
  await other.query("DELETE FROM ep_records WHERE kind = 'devices' AND key = 'gw-1'");
  // The controller's pass made gw-1's document before the delete; it writes it now.
  const written = store.deviceState.putDesired('gw-1', desired(4));
  await waitsOnLock(other);
  // The delete goes on: the device's documents go with it, and it commits.
  await other.query("DELETE FROM ep_records WHERE kind IN ('observed', 'desired', 'reported') AND key = 'gw-1'");
  await other.query('COMMIT');
  t.false(await written, 'the controller is told the device is gone (and so publishes nothing)');
  const left = await other.query("SELECT kind FROM ep_records WHERE key = 'gw-1'");
  t.deepEqual(left.rows, [], 'no desired document outlives its device');
});

test('a Job re-applied by another hub while the leader writes its assignment: the new creation is kept, the write left for the next pass', async (t) => {
  const url = await freshDatabase(t);
  const store = await openPostgresStore(url, { log: quiet });
  t.teardown(() => store.close());
  await store.jobs.putAll([job('nightly')]);
  const read = (await store.jobs.get('nightly'))!;
  const other = await otherHub(url);
  t.teardown(() => other.end());
  await other.query('BEGIN');
  await other.query("UPDATE ep_records SET doc = $1::json WHERE kind = 'jobs' AND key = 'nightly'", [JSON.stringify({ ...job('nightly'), uid: 'u2' })]);
  const skipped = store.jobs.replaceUnchanged([{ read, next: { ...read, assigned: ['gw-1'] } }]);
  await waitsOnLock(other);
  await other.query('COMMIT');
  t.deepEqual(await skipped, ['nightly']);
  t.like(await store.jobs.get('nightly'), { uid: 'u2', assigned: [] }, 'the re-applied Job, not the old one with an assignment');
});

test('a Job deleted by another hub while the leader deletes it after its TTL, or writes it: nothing comes back', async (t) => {
  const url = await freshDatabase(t);
  const store = await openPostgresStore(url, { log: quiet });
  t.teardown(() => store.close());
  await store.jobs.putAll([job('once')]);
  const read = (await store.jobs.get('once'))!;
  const other = await otherHub(url);
  t.teardown(() => other.end());
  await other.query('BEGIN');
  await other.query("DELETE FROM ep_records WHERE kind = 'jobs' AND key = 'once'");
  const skipped = store.jobs.replaceUnchanged([{ read, next: { ...read, finishedAt: new Date(0).toISOString() } }]);
  await waitsOnLock(other);
  await other.query('COMMIT');
  t.deepEqual(await skipped, ['once']);
  t.is(await store.jobs.get('once'), undefined, 'the deleted Job is not brought back');
  t.false(await store.jobs.deleteUnchanged(read));
});

test("a controller of a hub that no longer leads writes no desired document and no Job", async (t) => {
  const url = await freshDatabase(t);
  const api = await openPostgresStore(url, { log: quiet });
  t.teardown(() => api.close());
  // Fenced by a lease term it does not hold (no lease at all in this database).
  const deposed = await openPostgresStore(url, { fence: () => 7n, log: quiet });
  t.teardown(() => deposed.close());
  await api.devices.put(device('gw-1'), 'sync');
  await api.jobs.putAll([job('nightly')]);
  const read = (await api.jobs.get('nightly'))!;
  await t.throwsAsync(deposed.forControllers().deviceState.putDesired('gw-1', desired(1)), { instanceOf: FencedOutError });
  await t.throwsAsync(deposed.forControllers().jobs.replaceUnchanged([{ read, next: { ...read, assigned: ['gw-1'] } }]), { instanceOf: FencedOutError });
  await t.throwsAsync(deposed.forControllers().jobs.deleteUnchanged(read), { instanceOf: FencedOutError });
  t.is(await api.deviceState.desired('gw-1'), undefined);
  t.deepEqual((await api.jobs.get('nightly'))?.assigned, []);
});
