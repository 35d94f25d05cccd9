// A hub's PostgreSQL pool (src/hub/store/postgres/postgres-store.ts) when the server drops a
// connection that is checked out (a transaction between two queries, the leader lease, a
// migration): pg emits 'error' on that client, where the pool listens only while the client is
// idle, and an 'error' nobody listens to ended the hub process. Found by hubs-outages.test.ts
// (PostgreSQL stopped under three hubs: one hub exited). Here the server ends the backend itself.
import test from 'ava';
import pg from 'pg';
import { postgresPool } from '../../src/hub/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

test('a checked-out client whose connection the server ends does not end the process: its next query fails, the pool goes on', async (t) => {
  const url = await freshDatabase(t);
  const pool = postgresPool(url, () => undefined);
  t.teardown(() => pool.end().catch(() => undefined));
  const client = await pool.connect();
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await client.query('BEGIN');

  // Without a listener of ours this is an uncaught error: the test's process ends and ava says so.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await admin.end();
  await ended;

  await t.throwsAsync(client.query('SELECT 1'));
  client.release(true);
  const answer = await waitFor('the pool to answer again', async () => (await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one);
  t.is(answer, 1);
});
