import test from 'ava';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { STORE_SCHEMA_VERSION } from '../../../src/hub/store/document.js';
import { StoreRecordError } from '../../../src/hub/store/record-check.js';
import { eventSubjects, type DeviceRecord, type WorkloadRecord } from '../../../src/hub/store/records.js';
import { runPlacementPass } from '../../../src/hub/workloads/placement-pass.js';
import { workloadSpecSchema } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

/** Names that are own or inherited members of every plain object. */
const reserved = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

function device(id: string, hardwareId = `hw-${id}`): DeviceRecord {
  return { id, hardwareId, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: new Date(0).toISOString(), joinedWithToken: 't' };
}

/** A spec as the manifest schema stores it (defaults filled in). */
const spec = workloadSpecSchema.parse({ replicas: 2, template: { runtime: 'process', command: ['/bin/true'] } });

function workload(name: string): WorkloadRecord {
  const time = new Date(0).toISOString();
  return { name, labels: {}, annotations: {}, spec, revision: 'abcdef12', createdAt: time, updatedAt: time };
}

async function withStoreFile(t: { teardown(f: () => Promise<void>): void }, doc: unknown, observed?: unknown): Promise<string> {
  const dir = await makeTempDir('ep-store-records-');
  t.teardown(() => dir.remove());
  await writeFile(join(dir.path, 'store.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
  if (observed !== undefined) await writeFile(join(dir.path, 'observed.json'), typeof observed === 'string' ? observed : JSON.stringify(observed));
  return dir.path;
}

test('the poisoned store of issue 12 (devices["undefined"], a __proto__ key) loads: the bad records are skipped, named and kept aside', async (t) => {
  // What `cordon __proto__` wrote before names were checked, as JSON text (a literal
  // `__proto__` key in JSON is an own property of the parsed object).
  const text = `{"schemaVersion":${STORE_SCHEMA_VERSION},"devices":{"gw-1":${JSON.stringify(device('gw-1'))},"undefined":{"unschedulable":true},"__proto__":{"unschedulable":true}},"tokens":{},"workloads":{},"placements":{},"desired":{}}`;
  const dir = await withStoreFile(t, text);
  const warnings: string[] = [];
  const store = await openLowdbStore(dir, (m) => warnings.push(m));
  t.deepEqual((await store.devices.list()).map((d) => d.id), ['gw-1']);
  t.is(warnings.length, 2);
  t.regex(warnings[0] ?? '', /store\.json: skipped malformed devices record "undefined" \(.*\); kept in .*store\.json\.skipped-\d+\.json/);
  t.regex(warnings[1] ?? '', /skipped malformed devices record "__proto__" \(key "__proto__" is not a valid devices key\)/);
  const aside = (await readdir(dir)).find((f) => f.startsWith('store.json.skipped-'));
  t.truthy(aside);
  const kept = JSON.parse(await readFile(join(dir, aside ?? ''), 'utf8')) as { key: string }[];
  t.deepEqual(kept.map((k) => k.key), ['undefined', '__proto__']);
  // A placement pass over what was loaded runs (it threw a TypeError on every pass before).
  await store.workloads.putAll([workload('web')]);
  const input = { now: 0, devices: await store.devices.list(), workloads: await store.workloads.list(), placements: new Map(), published: new Map(), ready: new Set<string>() };
  t.notThrows(() => runPlacementPass(input));
  await store.close();
});

test('a record stored under another id than its own is skipped', async (t) => {
  const dir = await withStoreFile(t, { schemaVersion: STORE_SCHEMA_VERSION, devices: { 'gw-2': device('gw-1') }, tokens: { abc: { id: 'abc' } } });
  const warnings: string[] = [];
  const store = await openLowdbStore(dir, (m) => warnings.push(m));
  t.deepEqual(await store.devices.list(), []);
  t.deepEqual(await store.tokens.list(), []);
  t.regex(warnings.join('\n'), /devices record "gw-2" \(record is stored under "gw-2" but names itself "gw-1"\)/);
  t.regex(warnings.join('\n'), /tokens record "abc" \(secretHash: /);
  await store.close();
});

test('a malformed workload refuses the load, naming the file and the record (leaving it out would stop its instances fleet-wide)', async (t) => {
  const bad = { ...workload('web'), spec: { ...spec, selector: 'all of them' } };
  const dir = await withStoreFile(t, { schemaVersion: STORE_SCHEMA_VERSION, workloads: { web: bad } });
  const error = await t.throwsAsync(openLowdbStore(dir, () => undefined), { instanceOf: StoreRecordError });
  t.regex(error?.message ?? '', /store\.json: workloads\["web"\] is malformed \(spec\.selector: .*\); refusing to start: fix or remove that record/);
});

test('a malformed desired state refuses the load (a generation must never be handed out twice)', async (t) => {
  const dir = await withStoreFile(t, { schemaVersion: STORE_SCHEMA_VERSION, desired: { 'gw-1': { generation: -1, issuedAt: 'now', instances: [] } } });
  const error = await t.throwsAsync(openLowdbStore(dir, () => undefined));
  t.regex(error?.message ?? '', /store\.json: desired\["gw-1"\] is malformed \(generation: .*\)/);
});

test('a collection that is not an object of records refuses the load', async (t) => {
  const dir = await withStoreFile(t, { schemaVersion: STORE_SCHEMA_VERSION, devices: [device('gw-1')] });
  const error = await t.throwsAsync(openLowdbStore(dir, () => undefined));
  t.regex(error?.message ?? '', /store\.json: "devices" is not an object of records/);
});

test('malformed observed records are skipped; the rest is kept', async (t) => {
  const observed = {
    devices: { 'gw-1': { lastSeen: '2026-01-01T00:00:00.000Z' }, 'gw-2': { lastSeen: 12 } },
    reported: { 'gw-1': { observedGeneration: 'x' } },
    events: { 'device/gw-1': [{ time: '2026-01-01T00:00:00.000Z', type: 'Normal', reason: 'Tick', message: 'm' }], constructor: [] },
  };
  const dir = await withStoreFile(t, { schemaVersion: STORE_SCHEMA_VERSION, devices: { 'gw-1': device('gw-1'), 'gw-2': device('gw-2') } }, observed);
  const warnings: string[] = [];
  const store = await openLowdbStore(dir, (m) => warnings.push(m));
  t.is((await store.devices.get('gw-1'))?.lastSeen, '2026-01-01T00:00:00.000Z');
  t.is((await store.devices.get('gw-2'))?.lastSeen, undefined);
  t.is(await store.deviceState.reported('gw-1'), undefined);
  t.is((await store.events.list('device/gw-1')).length, 1);
  t.is(warnings.length, 3);
  await store.close();
});

test('reserved words find nothing in any collection, and a lookup never hands out a prototype member', async (t) => {
  const dir = await makeTempDir('ep-store-records-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.devices.put(device('gw-1'), 'sync');
  for (const name of reserved) {
    t.is(await store.devices.get(name), undefined, `device ${name}`);
    t.is(await store.devices.update(name, (d) => void (d.unschedulable = true), 'sync'), undefined, `update ${name}`);
    t.is(await store.devices.delete(name), undefined, `delete device ${name}`);
    t.is(await store.devices.findByHardwareId(name), undefined);
    t.is(await store.tokens.get(name), undefined, `token ${name}`);
    t.is(await store.tokens.update(name, (x) => void (x.revoked = true)), undefined);
    t.is(await store.workloads.get(name), undefined, `workload ${name}`);
    t.false(await store.workloads.delete(name));
    t.is(await store.placements.get(name), undefined);
    t.is(await store.deviceState.desired(name), undefined);
    t.is(await store.deviceState.reported(name), undefined);
    t.deepEqual(await store.events.list(name), []);
  }
  t.deepEqual((await store.devices.list()).map((d) => d.id), ['gw-1']);
  await store.close();
});

test('workloads and devices named like Object members are ordinary records', async (t) => {
  const dir = await makeTempDir('ep-store-records-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.workloads.putAll([workload('constructor'), workload('prototype')]);
  await store.devices.put(device('constructor'), 'sync');
  t.is((await store.workloads.get('constructor'))?.name, 'constructor');
  t.is((await store.devices.get('constructor'))?.id, 'constructor');
  await store.close();
  const reopened = await openLowdbStore(dir.path, (m) => t.fail(m));
  t.deepEqual((await reopened.workloads.list()).map((w) => w.name).sort(), ['constructor', 'prototype']);
  await reopened.close();
});

test('a record that would not load again is refused on the way in, and nothing changes', async (t) => {
  const dir = await makeTempDir('ep-store-records-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await t.throwsAsync(store.devices.put(device('__proto__'), 'sync'), { instanceOf: StoreRecordError, message: /refusing to store devices\["__proto__"\]/ });
  await t.throwsAsync(store.devices.put({ ...device('gw-1'), labels: { 'bad key!': 'x' } }, 'sync'), { instanceOf: StoreRecordError });
  await t.throwsAsync(store.workloads.putAll([workload('web'), workload('Not_A_Name')]), { instanceOf: StoreRecordError });
  t.deepEqual(await store.devices.list(), []);
  t.deepEqual(await store.workloads.list(), [], 'all or nothing');
  await store.close();
  await (await openLowdbStore(dir.path, (m) => t.fail(m))).close();
});

test('deleting a workload deletes its events: a new one of the same name starts with none', async (t) => {
  const dir = await makeTempDir('ep-store-records-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.workloads.putAll([workload('web')]);
  await store.events.append(eventSubjects.workload('web'), { time: new Date(0).toISOString(), type: 'Warning', reason: 'FailedScheduling', message: 'old' });
  t.true(await store.workloads.delete('web'));
  // A placement pass that started before the delete still reports on it: dropped.
  await store.events.append(eventSubjects.workload('web'), { time: new Date(0).toISOString(), type: 'Warning', reason: 'FailedScheduling', message: 'late' });
  await store.events.append(eventSubjects.workload('__proto__'), { time: new Date(0).toISOString(), type: 'Normal', reason: 'Tick', message: 'named by a device' });
  t.deepEqual(await store.events.list(eventSubjects.workload('__proto__')), []);
  await store.workloads.putAll([workload('web')]);
  t.deepEqual(await store.events.list(eventSubjects.workload('web')), []);
  await store.close();
});

test('deleting a device forgets its state and frees the replicas placed on it', async (t) => {
  const dir = await makeTempDir('ep-store-records-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.devices.put(device('gw-1'), 'sync');
  await store.devices.put(device('gw-2'), 'sync');
  await store.workloads.putAll([workload('web')]);
  await store.placements.put({ workload: 'web', replicas: { '0': 'gw-1', '1': 'gw-2' } });
  await store.deviceState.putDesired('gw-1', { generation: 3, issuedAt: new Date(0).toISOString(), instances: [] });
  await store.deviceState.putReported('gw-1', { observedGeneration: 3, time: new Date(0).toISOString(), instances: [] });
  await store.events.append(eventSubjects.device('gw-1'), { time: new Date(0).toISOString(), type: 'Normal', reason: 'Tick', message: 'x' });
  t.deepEqual(await store.devices.delete('gw-1'), { freed: [{ workload: 'web', ordinal: '0' }] });
  t.is(await store.devices.get('gw-1'), undefined);
  t.is(await store.devices.findByHardwareId('hw-gw-1'), undefined);
  t.is(await store.deviceState.desired('gw-1'), undefined);
  t.is(await store.deviceState.reported('gw-1'), undefined);
  t.deepEqual(await store.events.list(eventSubjects.device('gw-1')), []);
  t.deepEqual((await store.placements.get('web'))?.replicas, { '1': 'gw-2' });
  await store.close();
  const reopened = await openLowdbStore(dir.path, (m) => t.fail(m));
  t.deepEqual((await reopened.devices.list()).map((d) => d.id), ['gw-2']);
  await reopened.close();
});

test('events of Jobs and CronJobs are kept across a restart (their subjects are checked like the others)', async (t) => {
  const dir = await makeTempDir('ep-store-records-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  const event = { time: new Date(0).toISOString(), type: 'Normal' as const, reason: 'Created', message: 'm' };
  await store.events.append(eventSubjects.job('nightly-1'), event);
  await store.events.append(eventSubjects.cronJob('nightly'), event);
  await store.close();
  const reopened = await openLowdbStore(dir.path, (m) => t.fail(m));
  t.is((await reopened.events.list(eventSubjects.job('nightly-1'))).length, 1);
  t.is((await reopened.events.list(eventSubjects.cronJob('nightly'))).length, 1);
  await reopened.close();
});
