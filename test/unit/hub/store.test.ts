import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { migrateDocument, STORE_SCHEMA_VERSION } from '../../../src/hub/store/document.js';
import { readControlDocument } from '../../../src/hub/store/sharded-control.js';
import type { DeviceRecord } from '../../../src/hub/store/records.js';
import { desiredStateSchema } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

function device(id: string, hardwareId: string): DeviceRecord {
  return { id, hardwareId, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: new Date(0).toISOString(), joinedWithToken: 't' };
}

test('sync writes are on disk when they resolve, with the schema version', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.devices.put(device('gw-1', 'hw-1'), 'sync');
  const onDisk = (await readControlDocument(dir.path)) as { schemaVersion: number; devices: Record<string, unknown> };
  t.is(onDisk.schemaVersion, STORE_SCHEMA_VERSION);
  t.truthy(onDisk.devices['gw-1']);
  await store.close();
  const reopened = await openLowdbStore(dir.path);
  t.is((await reopened.devices.findByHardwareId('hw-1'))?.id, 'gw-1', 'hardware index rebuilt on open');
  await reopened.close();
});

test('reads return copies: changing them does not change the store', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.devices.put(device('gw-1', 'hw-1'), 'sync');
  const copy = await store.devices.get('gw-1');
  if (copy) copy.labels['x'] = 'y';
  t.deepEqual((await store.devices.get('gw-1'))?.labels, {});
  await store.close();
});

test('a reported snapshot keeps what it saw; the next one has the reports set and deleted since (kept between reports)', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  const report = (generation: number) => ({ observedGeneration: generation, time: new Date(0).toISOString(), instances: [] });
  for (const id of ['gw-1', 'gw-2', 'gw-3']) await store.devices.put(device(id, `hw-${id}`), 'sync');
  for (const id of ['gw-1', 'gw-2', 'gw-3']) await store.deviceState.putReported(id, report(1));
  const first = await store.deviceState.reportedSnapshot();
  t.is(await store.deviceState.reportedSnapshot(), first, 'no report since: the same map');
  await store.deviceState.putReported('gw-2', report(2));
  await store.devices.delete('gw-3');
  await store.deviceState.putReported('gw-4', report(1));
  const second = await store.deviceState.reportedSnapshot();
  t.not(second, first);
  t.deepEqual([...first].map(([id, r]) => `${id}:${r.observedGeneration}`), ['gw-1:1', 'gw-2:1', 'gw-3:1'], 'a map handed out never changes');
  t.deepEqual([...second].map(([id, r]) => `${id}:${r.observedGeneration}`).sort(), ['gw-1:1', 'gw-2:2', 'gw-4:1']);
  t.is(second.get('gw-1'), first.get('gw-1'), 'unchanged reports are the same objects');
  await store.close();
});

test('lazy writes are flushed on close', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.devices.put(device('gw-1', 'hw-1'), 'sync');
  await store.devices.update('gw-1', (d) => void (d.lastSeen = '2026-01-01T00:00:00.000Z'), 'lazy');
  await store.close();
  const reopened = await openLowdbStore(dir.path);
  t.is((await reopened.devices.get('gw-1'))?.lastSeen, '2026-01-01T00:00:00.000Z');
  await reopened.close();
});

test('a store that is not JSON is refused, never overwritten', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const path = join(dir.path, 'store.json');
  await writeFile(path, '{"schemaVersion": 1, "devices": {');
  const error = await t.throwsAsync(openLowdbStore(dir.path));
  t.regex(error?.message ?? '', /store file is not valid JSON.*refusing to start over it/);
  t.is(await readFile(path, 'utf8'), '{"schemaVersion": 1, "devices": {');
});

test('a store from a newer edgepilot is refused with both versions named', (t) => {
  const error = t.throws(() => migrateDocument({ schemaVersion: 99 }, 'store.json'));
  t.is(error?.message, `store.json: written by a newer edgepilot (schema 99); this hub understands up to ${STORE_SCHEMA_VERSION}`);
  t.throws(() => migrateDocument([], 'store.json'), { message: /not a store document/ });
});

test('events per device are bounded', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  for (let i = 0; i < 60; i++) await store.events.append('gw-1', { time: new Date(i * 1000).toISOString(), type: 'Normal', reason: 'Tick', message: String(i) });
  const events = await store.events.list('gw-1');
  t.is(events.length, 50);
  t.is(events[0]?.message, '10');
  await store.close();
});

test('observed state lives in its own file; a damaged one is moved aside and the hub starts', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.devices.put({ ...device('gw-1', 'hw-1'), lastSeen: '2026-01-01T00:00:00.000Z' }, 'sync');
  await store.close();
  const control = (await readControlDocument(dir.path)) as { devices: Record<string, Record<string, unknown>> };
  t.is(control.devices['gw-1']?.['lastSeen'], undefined, 'observed fields are not in the control document');
  await writeFile(join(dir.path, 'observed.json'), '{broken');
  const warnings: string[] = [];
  const reopened = await openLowdbStore(dir.path, (m) => warnings.push(m));
  t.is((await reopened.devices.get('gw-1'))?.id, 'gw-1', 'the control state is intact');
  t.is((await reopened.devices.get('gw-1'))?.lastSeen, undefined);
  t.regex(warnings[0] ?? '', /observed\.json was not valid JSON.*moved to .*damaged-/);
  await reopened.close();
});

test('a schema 1 store migrates: observed fields leave the control document', (t) => {
  const migrated = migrateDocument({ schemaVersion: 1, devices: { a: { ...device('a', 'hw'), lastSeen: 'x', facts: {} } }, tokens: {}, events: { 'device/a': [] }, reported: {} }, 'store.json');
  t.is(migrated.schemaVersion, STORE_SCHEMA_VERSION);
  t.false('lastSeen' in (migrated.devices['a'] ?? {}));
  t.false('events' in migrated);
});

test('a schema 2 store migrates: resources get their canonical unit names, values and revisions stay', (t) => {
  const template = () => ({ runtime: 'container', image: 'a', resources: { requests: { cpu: 100, memory: 33554432 }, limits: { cpu: 500 }, devices: {} } });
  const migrated = migrateDocument(
    {
      schemaVersion: 2,
      devices: {},
      tokens: {},
      workloads: { w: { name: 'w', revision: '0123456789abcdef', spec: { replicas: 1, template: template() } } },
      placements: {},
      desired: { d: { generation: 3, issuedAt: '2026-01-01T00:00:00.000Z', instances: [{ id: 'w-1', workload: 'w', revision: '0123456789abcdef', template: template() }] } },
    },
    'store.json',
  );
  const expected = { requests: { cpuMillis: 100, memoryBytes: 33554432 }, limits: { cpuMillis: 500 }, devices: {} };
  t.deepEqual(migrated.workloads['w']?.spec.template.resources, expected);
  t.is(migrated.workloads['w']?.revision, '0123456789abcdef');
  t.deepEqual(migrated.desired['d']?.instances[0]?.template.resources, expected);
  t.true(desiredStateSchema.safeParse(migrated.desired['d']).success, 'the migrated desired document is canonical');
});
