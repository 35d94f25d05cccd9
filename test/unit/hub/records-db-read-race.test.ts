// A read of one record while a batch of this hub's lazy changes commits under it: the SELECT may
// have run before the commit and returned the older row, and by the time it answers the batch has
// left the list of batches being committed, so nothing would add its changes back. The read must
// not hand out the older copy (a read-modify-write would store it: a device's status lost to its
// facts; seen once in CI in the PostgreSQL store contract). A fake pool decides the interleaving.
import test from 'ava';
import type pg from 'pg';
import { RecordsDb } from '../../../src/hub/store/postgres/records-db.js';

type Doc = Record<string, unknown>;

/** An in-memory ep_records where the first plain SELECT takes its snapshot before a COMMIT lands and answers after it. */
function racingPool(): { pool: pg.Pool; selects: () => number } {
  const table = new Map<string, Doc>();
  const id = (kind: unknown, key: unknown): string => `${String(kind)}/${String(key)}`;
  let selectTaken!: () => void;
  const snapshotTaken = new Promise<void>((resolve) => (selectTaken = resolve));
  let committed!: () => void;
  const commitDone = new Promise<void>((resolve) => (committed = resolve));
  let selects = 0;
  const pool = {
    async query(sql: string, params: unknown[]) {
      if (!sql.startsWith('SELECT doc FROM ep_records WHERE kind = $1 AND key = $2')) throw new Error(`fake pool: no answer set up for ${sql}`);
      selects += 1;
      const row = table.get(id(params[0], params[1]));
      const rows = row ? [{ doc: structuredClone(row) }] : [];
      if (selects === 1) {
        selectTaken();
        await commitDone;
      }
      return { rows, rowCount: rows.length };
    },
    async connect() {
      const puts: [string, Doc][] = [];
      return {
        async query(sql: string, params: unknown[] = []) {
          if (sql === 'BEGIN' || sql === 'ROLLBACK') return { rows: [], rowCount: 0 };
          if (sql === 'COMMIT') {
            await snapshotTaken;
            for (const [k, doc] of puts) table.set(k, doc);
            committed();
            return { rows: [], rowCount: 0 };
          }
          if (sql.startsWith('SELECT key, doc FROM ep_records WHERE kind = $1 AND key = ANY($2)')) {
            const rows = (params[1] as string[]).flatMap((key) => {
              const doc = table.get(id(params[0], key));
              return doc ? [{ key, doc }] : [];
            });
            return { rows, rowCount: rows.length };
          }
          if (sql.startsWith('INSERT INTO ep_records')) {
            const [kind, keys, docs] = params as [string, string[], string[]];
            keys.forEach((key, i) => puts.push([id(kind, key), JSON.parse(docs[i] ?? 'null') as Doc]));
            return { rows: [], rowCount: keys.length };
          }
          if (sql.startsWith('DELETE FROM ep_records')) return { rows: [], rowCount: 0 };
          throw new Error(`fake pool client: no answer set up for ${sql}`);
        },
        release() {},
      };
    },
  };
  return { pool: pool as unknown as pg.Pool, selects: () => selects };
}

test('a read while a lazy batch commits under it sees the batch: it reads again rather than hand out the older row', async (t) => {
  const { pool, selects } = racingPool();
  const db = new RecordsDb(pool, { where: 'fake', log: () => undefined });
  db.later('observed', 'gw-1', () => ({ status: 'online' }), true);
  // The read's SELECT takes its snapshot; then a write's transaction takes the queued status with
  // it and commits before that SELECT answers. (A read that starts while its record's batch is
  // already committing waits for it: records-db-commit-race.)
  const read = db.get('observed', 'gw-1');
  const write = db.transaction(async () => undefined);
  await write;
  t.deepEqual(await read, { status: 'online' });
  t.is(selects(), 2, 'read once more after the commit it may have missed');
});
