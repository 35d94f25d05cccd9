// The audit log with two hubs on one PostgreSQL (issue 15): writes answered by either hub are in
// the one log, durable once appended, each naming its hub; filters work as on one hub.
import test from 'ava';
import { sharedAuditTrail } from '../../src/hub/api/audit/audit-log.js';
import { pgAuditRepository } from '../../src/hub/store/postgres/pg-audit.js';
import { openPostgresStore, postgresPool } from '../../src/hub/store/postgres/postgres-store.js';
import { RecordsDb } from '../../src/hub/store/postgres/records-db.js';
import type { AuditEntry } from '../../src/protocol/index.js';
import { freshDatabase } from '../support/postgres.js';

const quiet = (): undefined => undefined;

const entry = (time: string, who: string, object: string): AuditEntry => ({ time, who, role: 'admin', method: 'POST', route: '/v1/apply', object, status: 200, source: '127.0.0.1' });

test('writes through hub A and hub B are in one audit log, each naming its hub, read at either', async (t) => {
  const url = await freshDatabase(t);
  const storeA = await openPostgresStore(url, { log: quiet });
  const storeB = await openPostgresStore(url, { log: quiet });
  t.teardown(() => Promise.all([storeA.close(), storeB.close()]).then(() => undefined));
  const a = sharedAuditTrail(storeA.audit, 'hub-a');
  const b = sharedAuditTrail(storeB.audit, 'hub-b');
  await a.append(entry('2026-12-01T10:00:00.000Z', 'admin', 'Workload/web'));
  await b.append(entry('2026-12-01T10:00:01.000Z', 'alice', 'Workload/db'));
  await a.append(entry('2026-12-01T10:00:02.000Z', 'alice', 'Workload/cache'));

  const fromB = await b.read({ limit: 500 });
  t.deepEqual(fromB.map((e) => `${e.hub}:${e.who}:${e.object}`), ['hub-a:admin:Workload/web', 'hub-b:alice:Workload/db', 'hub-a:alice:Workload/cache']);
  t.deepEqual(await a.read({ limit: 500 }), fromB, 'the same log at either hub');
  t.deepEqual((await a.read({ who: 'alice', limit: 500 })).map((e) => e.object), ['Workload/db', 'Workload/cache']);
  t.deepEqual((await a.read({ since: '2026-12-01T10:00:01.000Z', limit: 500 })).map((e) => e.object), ['Workload/db', 'Workload/cache']);
  t.deepEqual((await a.read({ limit: 1 })).map((e) => e.object), ['Workload/cache'], 'the newest, at most limit');
});

test('the shared log is bounded: past the rows kept, the oldest are trimmed', async (t) => {
  const url = await freshDatabase(t);
  const store = await openPostgresStore(url, { log: quiet }); // applies the migrations
  t.teardown(() => store.close());
  const db = new RecordsDb(postgresPool(url, quiet), { where: 'test', log: quiet });
  t.teardown(() => db.close());
  const small = pgAuditRepository(db, { kept: 10, trimEvery: 20 });
  for (let i = 0; i < 50; i++) await small.append(entry(new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(), 'admin', `n=${i}`));
  // Trimmed to 10 at the 40th append; 10 more since.
  const kept = await small.read({ limit: 10_000 });
  t.deepEqual([kept.length, kept[0]?.object, kept.at(-1)?.object], [20, 'n=30', 'n=49']);
});
