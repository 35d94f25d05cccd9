import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrate, readMigrations, MIGRATIONS_DIR } from '../../src/hub/store/postgres/migrate.js';
import { openPostgresStore, postgresPool } from '../../src/hub/store/postgres/postgres-store.js';
import { makeTempDir } from '../support/paths.js';
import { freshDatabase } from '../support/postgres.js';
import { device, token } from '../support/store-contract.js';

const quiet = (): undefined => undefined;

test('three hubs starting at once migrate once: every migration applied a single time, in order', async (t) => {
  const url = await freshDatabase(t);
  const pools = [0, 1, 2].map(() => postgresPool(url, quiet));
  t.teardown(() => Promise.all(pools.map((p) => p.end())).then(() => undefined));
  const shipped = await readMigrations();
  t.true(shipped.length >= 1);
  const applied = await Promise.all(pools.map(async (pool) => migrate(pool, shipped)));
  t.deepEqual(applied.flat().sort(), shipped.map((m) => m.name).sort(), 'each migration was applied by exactly one hub');
  const { rows } = await pools[0]!.query<{ version: number }>('SELECT version FROM ep_schema_migrations ORDER BY version');
  t.deepEqual(rows.map((r) => r.version), shipped.map((m) => m.version));
  t.deepEqual(await migrate(pools[0]!, shipped), [], 'nothing left to do on the next start');
});

test('the runner picks up every NNN-name.sql in the folder, in order; a failing one rolls back whole and is not recorded', async (t) => {
  const url = await freshDatabase(t);
  const pool = postgresPool(url, quiet);
  t.teardown(() => pool.end());
  const dir = await makeTempDir('ep-migrations-');
  t.teardown(() => dir.remove());
  const folder = join(dir.path, 'm');
  await mkdir(folder);
  await writeFile(join(folder, '002-second.sql'), 'CREATE TABLE second (x int); INSERT INTO second VALUES (2);');
  await writeFile(join(folder, '001-first.sql'), 'CREATE TABLE first (x int);');
  t.deepEqual(await migrate(pool, await readMigrations(`${folder}/`)), ['001-first.sql', '002-second.sql']);
  await writeFile(join(folder, '003-broken.sql'), 'CREATE TABLE third (x int); SELECT no_such_function();');
  await t.throwsAsync(migrate(pool, await readMigrations(`${folder}/`)), { message: /migration 003-broken\.sql failed/ });
  const { rows } = await pool.query<{ name: string | null }>("SELECT to_regclass('third')::text AS name");
  t.is(rows[0]?.name, null, 'the failed migration left nothing behind');
  await writeFile(join(folder, 'notes.sql'), '');
  await t.throwsAsync(readMigrations(`${folder}/`), { message: /named NNN-name\.sql/ });
  t.true(MIGRATIONS_DIR.endsWith('/migrations/'));
});

test('lazy writes reach PostgreSQL within a second: another hub sees them without this one closing', async (t) => {
  const url = await freshDatabase(t);
  const a = await openPostgresStore(url, { log: quiet });
  const b = await openPostgresStore(url, { log: quiet });
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  await a.devices.put(device('gw-1'), 'sync');
  await a.devices.touch('gw-1', '2026-01-01T00:00:00.000Z');
  await a.deviceState.putReported('gw-1', { observedGeneration: 4, time: new Date(0).toISOString(), instances: [] });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is((await b.devices.get('gw-1'))?.lastSeen, '2026-01-01T00:00:00.000Z');
  t.is((await b.deviceState.reported('gw-1'))?.observedGeneration, 4);
});

test('two hubs using the same join token concurrently both count (no lost update)', async (t) => {
  const url = await freshDatabase(t);
  const a = await openPostgresStore(url, { log: quiet });
  const b = await openPostgresStore(url, { log: quiet });
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  await a.tokens.put(token('tok1'));
  await Promise.all([
    a.tokens.update('tok1', (tk) => void (tk.uses += 1), 'lazy').then(() => a.devices.put(device('gw-a'), 'sync')),
    b.tokens.update('tok1', (tk) => void (tk.uses += 1), 'lazy').then(() => b.devices.put(device('gw-b'), 'sync')),
  ]);
  t.is((await a.tokens.get('tok1'))?.uses, 2);
});

test('hub-wide settings are created once: of two hubs asking at once, one creates and both get its value', async (t) => {
  const url = await freshDatabase(t);
  const a = await openPostgresStore(url, { log: quiet });
  const b = await openPostgresStore(url, { log: quiet });
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  const [fromA, fromB] = await Promise.all([a.settings.getOrCreate('adminTokenHash', 'aaa'), b.settings.getOrCreate('adminTokenHash', 'bbb')]);
  t.is(fromA.value, fromB.value);
  t.is([fromA.created, fromB.created].filter(Boolean).length, 1);
  t.deepEqual(await a.settings.getOrCreate('adminTokenHash', 'ccc'), { value: fromA.value, created: false });
});

test('migration 002 merges a board\'s records stored by two hubs: the oldest kept, the other gone with its state, its replicas freed; a second record is refused after', async (t) => {
  const url = await freshDatabase(t);
  const pool = postgresPool(url, quiet);
  t.teardown(() => pool.end());
  const shipped = await readMigrations();
  await migrate(pool, shipped.filter((m) => m.version === 1));
  const put = (kind: string, key: string, doc: unknown): Promise<unknown> => pool.query('INSERT INTO ep_records (kind, key, doc) VALUES ($1, $2, $3::json)', [kind, key, JSON.stringify(doc)]);
  await put('devices', 'press-new', device('press-new', { hardwareId: 'hw-board', registeredAt: '2026-02-01T00:00:00.000Z' }));
  await put('devices', 'press-old', device('press-old', { hardwareId: 'hw-board', registeredAt: '2026-01-01T00:00:00.000Z' }));
  await put('devices', 'other', device('other'));
  for (const kind of ['observed', 'desired', 'reported']) await put(kind, 'press-new', {});
  await put('events', 'device/press-new', []);
  await put('placements', 'app', { workload: 'app', replicas: { '0': 'press-new', '1': 'other', '2': 'press-old' }, peripherals: { '0': [], '1': [] } });
  await put('placements', 'untouched', { workload: 'untouched', replicas: { '0': 'other' } });

  t.deepEqual(await migrate(pool, shipped), shipped.filter((m) => m.version > 1).map((m) => m.name));
  const { rows } = await pool.query<{ kind: string; key: string }>('SELECT kind, key FROM ep_records ORDER BY kind, key');
  t.deepEqual(
    rows.map((r) => `${r.kind}/${r.key}`),
    ['devices/other', 'devices/press-old', 'placements/app', 'placements/untouched'],
  );
  const placements = await pool.query<{ key: string; doc: unknown }>("SELECT key, doc FROM ep_records WHERE kind = 'placements' ORDER BY key");
  t.deepEqual(placements.rows[0]?.doc, { workload: 'app', replicas: { '1': 'other', '2': 'press-old' }, peripherals: { '1': [] } });
  t.deepEqual(placements.rows[1]?.doc, { workload: 'untouched', replicas: { '0': 'other' } });
  await t.throwsAsync(put('devices', 'press-again', device('press-again', { hardwareId: 'hw-board' })), { message: /ep_records_device_hardware_unique/ });
});
