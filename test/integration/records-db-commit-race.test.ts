// A read of a record while a batch of its lazy changes is being committed. The server can have
// committed the batch, and the read's SELECT see it, before the COMMIT's answer reaches the hub:
// the read must not apply the batch's changes again on top (found by the fresh-clone CI: 60
// events appended lazily, read back with 13 of them twice).
import test from 'ava';
import pg from 'pg';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { RecordsDb } from '../../src/hub/store/postgres/records-db.js';
import { freshDatabase } from '../support/postgres.js';

const quiet = (): undefined => undefined;

/** Clients of this pool hand back the answer to COMMIT `delayMs` after the server gave it. */
function slowCommitAnswers(pool: pg.Pool, delayMs: number, committed: () => void): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (args[0] !== 'COMMIT' || typeof args.at(-1) === 'function') return query(...args);
      return (query(...args) as Promise<unknown>).then(async (result) => {
        committed();
        await new Promise((r) => setTimeout(r, delayMs));
        return result;
      });
    };
  });
}

test('a record read while its lazy batch commits holds each change once, whether the SELECT saw the commit or not', async (t) => {
  const url = await freshDatabase(t);
  await (await openPostgresStore(url, { log: quiet })).close(); // the schema
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  let serverCommitted!: () => void;
  const commitSeen = new Promise<void>((resolve) => (serverCommitted = resolve));
  slowCommitAnswers(pool, 300, () => serverCommitted());
  const db = new RecordsDb(pool, { where: 'test', log: quiet });
  const append = (n: number) => (list: unknown) => [...((list as number[] | undefined) ?? []), n];
  for (let n = 0; n < 5; n++) db.later('events', 'subject', append(n));
  const flushed = db.flush();
  await commitSeen; // on the server; the hub hears of it 300 ms later
  db.later('events', 'subject', append(5)); // queued after the batch: never sent yet
  const read = await db.get('events', 'subject');
  await flushed;
  await db.close();
  t.deepEqual(read, [0, 1, 2, 3, 4, 5]);
});
