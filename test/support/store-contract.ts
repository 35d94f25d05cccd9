// The repository contract of the hub's store (src/hub/store/repository.ts), one suite run against
// every store: lowdb (test/unit/hub/store-contract-lowdb.test.ts) and PostgreSQL
// (test/integration/store-contract-postgres.test.ts). What a store must do, whatever it is built on.
import type { ExecutionContext, TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { configRecordFor } from '../../src/hub/config-objects/config-records.js';
import { cronJobSpecSchema, jobSpecSchema, releaseDigest, releaseSpecSchema, rolloutSpecSchema, workloadSpecSchema, type ConfigMapManifest, type ConfigObjectRecord, type JobRunRecord, type ReleaseRecord, type RolloutState } from '../../src/protocol/index.js';
import { createRollout } from '../../src/scheduler/rollout/index.js';
import type { CronJobRecord, JobRecord, StoredJobRun } from '../../src/hub/store/job-records.js';
import type { DeviceRecord, PlacementRecord, TokenRecord, WorkloadRecord } from '../../src/hub/store/records.js';
import { HardwareIdTakenError, ReleaseImmutableError, type HubStore } from '../../src/hub/store/repository.js';

export interface ContractBackend {
  /**
   * A new, empty backing for one test. `open` opens a store on it; opened again after a close it
   * is a reopen; opened twice at once (only when `shared`) it is a second hub on the same data.
   */
  create(t: ExecutionContext): Promise<{ open(): Promise<HubStore>; shared: boolean }>;
}

const T0 = new Date(0).toISOString();

export const device = (id: string, over: Partial<DeviceRecord> = {}): DeviceRecord => ({
  id,
  hardwareId: `hw-${id}`,
  hostname: id,
  labels: {},
  taints: [],
  unschedulable: false,
  credentialHash: `hash-${id}`,
  registeredAt: T0,
  joinedWithToken: 'tok1',
  ...over,
});

export const token = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
  id,
  secretHash: 'h',
  description: 'd',
  labels: {},
  createdAt: T0,
  expiresAt: new Date(86_400_000).toISOString(),
  uses: 0,
  revoked: false,
  ...over,
});

export const workload = (name: string, command = 'sleep'): WorkloadRecord => ({
  name,
  labels: {},
  annotations: {},
  spec: workloadSpecSchema.parse({ replicas: 2, template: { runtime: 'process', command: [command] } }),
  revision: 'r1',
  createdAt: T0,
  updatedAt: T0,
});

export const job = (name: string): JobRecord => ({ name, uid: 'u1', labels: {}, annotations: {}, spec: jobSpecSchema.parse({ template: { runtime: 'process', command: ['true'] } }), createdAt: T0, updatedAt: T0, assigned: [] });

const cronJob = (name: string): CronJobRecord => ({
  name,
  labels: {},
  annotations: {},
  spec: cronJobSpecSchema.parse({ schedule: '* * * * *', jobTemplate: { template: { runtime: 'process', command: ['true'] } } }),
  revision: 'aaaaaaaa',
  createdAt: T0,
  updatedAt: T0,
});

const run = (id: string, deviceId: string, name = 'tick'): StoredJobRun => {
  const record: JobRunRecord = { id, owner: { kind: 'CronJob', name }, attempt: 1, finishedAt: T0, output: ['hi'], reason: 'completed' };
  return { ...record, device: deviceId, receivedAt: T0 };
};

export function release(command: string, version = '2.0.0'): ReleaseRecord {
  const spec = releaseSpecSchema.parse({ version, workloads: { app: { runtime: 'process', command: [command] } } });
  return { name: 'app', labels: {}, annotations: {}, spec, digest: releaseDigest({ metadata: { name: 'app' }, spec }), createdAt: T0 };
}

export const rollout = (name = 'ro'): RolloutState =>
  createRollout({
    name,
    spec: rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'a' } }, release: { name: 'app', version: '2.0.0' }, waves: [{ count: 1 }, { percent: 100 }] }),
    devices: [{ id: 'd1', labels: { site: 'a' }, online: true, hardware: { arch: 'arm64', board: 'b', mcus: [] } }],
    releaseDigest: release('run').digest,
    now: 0,
  });

const placement = (name: string, replicas: Record<string, string>): PlacementRecord => ({ workload: name, replicas });
const online: DeviceRecord['status'] = { state: 'online', reason: 'connected', agentVersion: '1.0.0', bootId: 'b', sessionId: 's', since: T0 };
const desired = (generation: number) => ({ generation, issuedAt: T0, instances: [] });
const event = (message: string) => ({ time: T0, type: 'Normal' as const, reason: 'Tick', message });

/** A ConfigMap record as the hub stores it (issue 14). */
export const configMap = (name: string): ConfigObjectRecord =>
  configRecordFor({ apiVersion: 'edgepilot.io/v1', kind: 'ConfigMap', metadata: { name, labels: {}, annotations: {} }, data: { level: 'debug' }, binaryData: {}, immutable: false } as ConfigMapManifest, undefined, T0, randomBytes(32)).record;

export function storeContract(test: TestFn, label: string, backend: ContractBackend): void {
  const opened = async (t: ExecutionContext) => {
    const backing = await backend.create(t);
    const store = await backing.open();
    t.teardown(() => store.close());
    return { store, backing };
  };

  test(`${label}: devices: put, get, has, credential hash, lookup by hardware id, list, count`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    await store.devices.put(device('gw-2', { status: online }), 'sync');
    t.is((await store.devices.get('gw-1'))?.hostname, 'gw-1');
    t.is(await store.devices.get('nope'), undefined);
    t.true(await store.devices.has('gw-1'));
    t.false(await store.devices.has('nope'));
    t.is(await store.devices.credentialHash('gw-2'), 'hash-gw-2');
    t.is((await store.devices.findByHardwareId('hw-gw-2'))?.id, 'gw-2');
    t.is(await store.devices.findByHardwareId('hw-none'), undefined);
    t.deepEqual((await store.devices.list()).map((d) => d.id).sort(), ['gw-1', 'gw-2']);
    t.deepEqual(await store.devices.count(), { total: 2, online: 1 });
  });

  test(`${label}: reads are copies: changing what was read changes nothing stored`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    const copy = await store.devices.get('gw-1');
    if (copy) copy.labels['x'] = 'y';
    t.deepEqual((await store.devices.get('gw-1'))?.labels, {});
    await store.workloads.putAll([workload('web')]);
    const w = await store.workloads.get('web');
    if (w) w.labels['x'] = 'y';
    t.deepEqual((await store.workloads.get('web'))?.labels, {});
  });

  test(`${label}: update changes the stored record and returns it; observe and touch change observed state; unknown devices are refused`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    const updated = await store.devices.update('gw-1', (d) => void (d.labels['site'] = 'a'), 'sync');
    t.deepEqual(updated?.labels, { site: 'a' });
    t.is(await store.devices.update('nope', () => undefined, 'sync'), undefined);
    t.true(await store.devices.touch('gw-1', '2026-01-01T00:00:00.000Z'));
    t.false(await store.devices.touch('nope', T0));
    t.true(await store.devices.observe('gw-1', (o) => void (o.status = online)));
    t.false(await store.devices.observe('nope', () => undefined));
    const read = await store.devices.get('gw-1');
    t.is(read?.lastSeen, '2026-01-01T00:00:00.000Z');
    t.is(read?.status?.state, 'online');
    t.deepEqual(read?.labels, { site: 'a' });
    t.deepEqual(await store.devices.count(), { total: 1, online: 1 });
  });

  test(`${label}: a snapshot does not change when the store does`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    const before = await store.devices.snapshot();
    await store.devices.update('gw-1', (d) => void (d.labels['site'] = 'b'), 'sync');
    await store.devices.touch('gw-1', '2026-01-01T00:00:00.000Z');
    t.deepEqual(before[0]?.labels, {});
    t.is(before[0]?.lastSeen, undefined);
    const after = await store.devices.snapshot();
    t.deepEqual(after[0]?.labels, { site: 'b' });
    await store.rollouts.put(rollout());
    const rollouts = await store.rollouts.snapshot();
    await store.rollouts.put({ ...rollout(), status: { ...rollout().status, phase: 'paused' } });
    t.is(rollouts[0]?.status.phase, rollout().status.phase);
    await store.deviceState.putDesired('gw-1', desired(1));
    const desiredBefore = await store.deviceState.desiredSnapshot();
    await store.deviceState.putDesired('gw-1', desired(2));
    t.is(desiredBefore.get('gw-1')?.generation, 1);
    t.is((await store.deviceState.desiredSnapshot()).get('gw-1')?.generation, 2);
  });

  test(`${label}: lazy writes are kept: visible at once, stored by close`, async (t) => {
    const backing = await backend.create(t);
    const store = await backing.open();
    await store.devices.put(device('gw-1'), 'sync');
    await store.devices.update('gw-1', (d) => void (d.lastSeen = '2026-01-01T00:00:00.000Z'), 'lazy');
    await store.deviceState.putReported('gw-1', { observedGeneration: 1, time: T0, instances: [] });
    await store.events.append('device/gw-1', event('hello'));
    t.is((await store.devices.get('gw-1'))?.lastSeen, '2026-01-01T00:00:00.000Z');
    await store.close();
    const reopened = await backing.open();
    t.teardown(() => reopened.close());
    t.is((await reopened.devices.get('gw-1'))?.lastSeen, '2026-01-01T00:00:00.000Z');
    t.is((await reopened.deviceState.reported('gw-1'))?.observedGeneration, 1);
    t.deepEqual((await reopened.events.list('device/gw-1')).map((e) => e.message), ['hello']);
  });

  test(`${label}: a status and the same device's facts arriving together are both kept`, async (t) => {
    const { store } = await opened(t);
    const ids = Array.from({ length: 20 }, (_, i) => `gw-${i}`);
    for (const id of ids) await store.devices.put(device(id), 'sync');
    const online = { state: 'online', since: T0, agentVersion: '0.1.0', sessionId: 's1' } as unknown as NonNullable<DeviceRecord['status']>;
    // The agent sends both at connect; the hub handles them at once (facts as a lazy update, status as an observe).
    await Promise.all(
      ids.flatMap((id) => [
        store.devices.update(id, (d) => void (d.hostname = 'renamed'), 'lazy'),
        store.devices.observe(id, (o) => void (o.status = online)),
        store.devices.touch(id, '2026-01-01T00:00:00.000Z'),
      ]),
    );
    for (const id of ids) {
      const seen = await store.devices.get(id);
      t.is(seen?.hostname, 'renamed', id);
      t.is(seen?.status?.state, 'online', `${id}: the status was not undone by the facts read before it`);
      t.is(seen?.lastSeen, '2026-01-01T00:00:00.000Z', id);
    }
  });

  test(`${label}: a lazy change being committed is seen by reads meanwhile, and not undone by a read-modify-write`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    const online = { state: 'online', since: T0, agentVersion: '0.1.0', sessionId: 's1' } as unknown as NonNullable<DeviceRecord['status']>;
    await store.devices.observe('gw-1', (o) => void (o.status = online));
    // A synchronous write takes the queued status into its transaction; the facts are read while it commits.
    const other = store.tokens.put(token('tok2'));
    const facts = store.devices.update('gw-1', (d) => void (d.hostname = 'renamed'), 'lazy');
    await Promise.all([other, facts]);
    const seen = await store.devices.get('gw-1');
    t.is(seen?.status?.state, 'online');
    t.is(seen?.hostname, 'renamed');
  });

  test(`${label}: a join's token use (lazy) is stored with the device record (sync)`, async (t) => {
    const backing = await backend.create(t);
    const store = await backing.open();
    await store.tokens.put(token('tok1', { maxUses: 5 }));
    const used = await store.tokens.update('tok1', (tk) => void (tk.uses += 1), 'lazy');
    t.is(used?.uses, 1);
    t.is((await store.tokens.get('tok1'))?.uses, 1, 'seen at once by this store');
    await store.devices.put(device('gw-1'), 'sync');
    t.is(await store.tokens.update('nope', () => undefined, 'lazy'), undefined);
    if (backing.shared) {
      // Another hub reads the database: the token use is there as soon as the device is.
      const other = await backing.open();
      t.teardown(() => other.close());
      t.is((await other.tokens.get('tok1'))?.uses, 1);
      t.is((await other.devices.get('gw-1'))?.id, 'gw-1');
    }
    await store.close();
    const reopened = await backing.open();
    t.teardown(() => reopened.close());
    t.is((await reopened.tokens.get('tok1'))?.uses, 1);
    t.deepEqual((await reopened.tokens.list()).map((tk) => tk.id), ['tok1']);
  });

  test(`${label}: a board has one record: a new device with a stored hardware id is refused (HardwareIdTaken), nothing stored`, async (t) => {
    const backing = await backend.create(t);
    const store = await backing.open();
    t.teardown(() => store.close());
    await store.devices.put(device('gw-1', { hardwareId: 'hw-board' }), 'sync');
    const refused = await t.throwsAsync(store.devices.put(device('gw-2', { hardwareId: 'hw-board' }), 'sync'), { instanceOf: HardwareIdTakenError });
    t.is(refused?.ownerId, 'gw-1');
    t.false(await store.devices.has('gw-2'));
    t.is((await store.devices.findByHardwareId('hw-board'))?.id, 'gw-1');
    // The record itself is written again as often as it changes.
    await store.devices.put(device('gw-1', { hardwareId: 'hw-board', hostname: 'renamed' }), 'sync');
    t.is((await store.devices.get('gw-1'))?.hostname, 'renamed');
    if (backing.shared) {
      // Two hubs registering the same board at once: one record, the other told so.
      const other = await backing.open();
      t.teardown(() => other.close());
      const results = await Promise.allSettled([store.devices.put(device('gw-a', { hardwareId: 'hw-twice' }), 'sync'), other.devices.put(device('gw-b', { hardwareId: 'hw-twice' }), 'sync')]);
      t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      t.true(failure?.reason instanceof HardwareIdTakenError);
      t.is((await store.devices.list()).filter((d) => d.hardwareId === 'hw-twice').length, 1);
    }
  });

  test(`${label}: events are bounded per subject, kept only for what exists, and a deleted workload's history goes with it`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    for (let i = 0; i < 60; i++) await store.events.append('device/gw-1', event(String(i)));
    const events = await store.events.list('device/gw-1');
    t.is(events.length, 50);
    t.is(events[0]?.message, '10');
    t.is(events[49]?.message, '59');
    await store.events.append('device/ghost', event('x'));
    t.deepEqual(await store.events.list('device/ghost'), []);
    await store.workloads.putAll([workload('web')]);
    await store.events.append('workload/web', event('old'));
    t.true(await store.workloads.delete('web'));
    t.false(await store.workloads.delete('web'));
    await store.workloads.putAll([workload('web')]);
    t.deepEqual(await store.events.list('workload/web'), []);
  });

  test(`${label}: deleting a device frees its placements and forgets its documents and events`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    await store.devices.put(device('gw-2'), 'sync');
    await store.workloads.putAll([workload('web'), workload('db')]);
    await store.placements.put(placement('web', { '0': 'gw-1', '1': 'gw-2' }));
    await store.placements.put(placement('db', { '0': 'gw-2' }));
    await store.deviceState.putDesired('gw-1', desired(3));
    await store.deviceState.putReported('gw-1', { observedGeneration: 3, time: T0, instances: [] });
    await store.events.append('device/gw-1', event('x'));
    const result = await store.devices.delete('gw-1');
    t.deepEqual(result, { freed: [{ workload: 'web', ordinal: '0' }] });
    t.is(await store.devices.delete('gw-1'), undefined);
    t.deepEqual((await store.placements.get('web'))?.replicas, { '1': 'gw-2' });
    t.deepEqual((await store.placements.get('db'))?.replicas, { '0': 'gw-2' });
    t.is(await store.deviceState.desired('gw-1'), undefined);
    t.is(await store.deviceState.reported('gw-1'), undefined);
    t.deepEqual(await store.events.list('device/gw-1'), []);
    t.is(await store.devices.findByHardwareId('hw-gw-1'), undefined);
  });

  test(`${label}: workloads and placements: putAll, list, delete; a deleted workload's placement goes with it`, async (t) => {
    const { store } = await opened(t);
    await store.workloads.putAll([workload('a'), workload('b')]);
    t.deepEqual((await store.workloads.list()).map((w) => w.name).sort(), ['a', 'b']);
    await store.placements.put(placement('a', { '0': 'gw-1' }));
    t.deepEqual((await store.placements.list()).map((p) => p.workload), ['a']);
    await store.workloads.delete('a');
    t.is(await store.placements.get('a'), undefined);
    await store.placements.put(placement('b', { '0': 'gw-1' }));
    await store.placements.delete('b');
    t.deepEqual(await store.placements.list(), []);
    await t.throwsAsync(store.workloads.putAll([workload('ok'), { ...workload('Bad Name') }]));
    t.is(await store.workloads.get('ok'), undefined, 'a batch with a malformed record stores none of it');
  });

  test(`${label}: desired and reported documents: per device, all, scan`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    t.true(await store.deviceState.putDesired('gw-1', desired(1)));
    await store.deviceState.putReported('gw-2', { observedGeneration: 0, time: T0, instances: [] });
    t.is((await store.deviceState.desired('gw-1'))?.generation, 1);
    t.deepEqual([...(await store.deviceState.allDesired()).keys()], ['gw-1']);
    t.deepEqual([...(await store.deviceState.allReported()).keys()], ['gw-2']);
    t.deepEqual([...(await store.deviceState.reportedSnapshot()).keys()], ['gw-2']);
    const seen: string[] = [];
    await store.deviceState.scan((id, d, r) => seen.push(`${id}:${d ? 'd' : '-'}${r ? 'r' : '-'}`));
    t.deepEqual(seen.sort(), ['gw-1:d-', 'gw-2:-r']);
  });

  test(`${label}: a desired document for a device deleted meanwhile (or never registered) is not stored, and says so`, async (t) => {
    const { store } = await opened(t);
    await store.devices.put(device('gw-1'), 'sync');
    t.true(await store.deviceState.putDesired('gw-1', desired(1)));
    await store.devices.delete('gw-1');
    // The controller's pass made this document before the API's delete: written, it outlived its device.
    t.false(await store.deviceState.putDesired('gw-1', desired(2)));
    t.is(await store.deviceState.desired('gw-1'), undefined);
    t.false(await store.deviceState.putDesired('never', desired(1)));
    t.deepEqual([...(await store.deviceState.desiredSnapshot()).keys()], []);
  });

  test(`${label}: the Jobs controller's writes leave a Job the API deleted or re-applied meanwhile alone`, async (t) => {
    const { store } = await opened(t);
    await store.jobs.putAll([job('kept'), job('gone'), job('again'), job('ttl')]);
    const read = new Map((await store.jobs.list()).map((j) => [j.name, j]));
    const assigned = (name: string): { read: JobRecord; next: JobRecord } => ({ read: read.get(name)!, next: { ...read.get(name)!, assigned: ['gw-1'] } });
    // The API, between the controller's read and its write: one Job deleted, one re-applied (a new creation).
    await store.jobs.delete('gone');
    await store.jobs.putAll([{ ...job('again'), uid: 'u2', updatedAt: '2026-02-01T00:00:00.000Z' }]);
    t.deepEqual((await store.jobs.replaceUnchanged([assigned('kept'), assigned('gone'), assigned('again')])).sort(), ['again', 'gone']);
    t.deepEqual((await store.jobs.get('kept'))?.assigned, ['gw-1'], 'an unchanged Job is written');
    t.is(await store.jobs.get('gone'), undefined, 'a deleted Job is not brought back');
    t.like(await store.jobs.get('again'), { uid: 'u2', assigned: [] }, 'the re-applied Job is not overwritten');
    await store.jobs.putAll([{ ...job('ttl'), uid: 'u3' }]);
    t.false(await store.jobs.deleteUnchanged(read.get('ttl')!), 'the TTL delete of an older creation leaves the new one');
    t.is((await store.jobs.get('ttl'))?.uid, 'u3');
    t.true(await store.jobs.deleteUnchanged((await store.jobs.get('ttl'))!));
    t.is(await store.jobs.get('ttl'), undefined);
  });

  test(`${label}: applyDocuments stores every kind at once, or nothing when a release conflicts`, async (t) => {
    const { store } = await opened(t);
    await store.applyDocuments({ workloads: [workload('web')], jobs: [job('once')], cronJobs: [cronJob('tick')], releases: [release('run')] });
    t.truthy(await store.workloads.get('web'));
    t.truthy(await store.jobs.get('once'));
    t.truthy(await store.cronJobs.get('tick'));
    t.truthy(await store.releases.get('app', '2.0.0'));
    const err = await t.throwsAsync(store.applyDocuments({ workloads: [workload('api')], jobs: [job('twice')], releases: [release('other')] }), { instanceOf: ReleaseImmutableError });
    t.is(err?.code, 'ReleaseImmutable');
    t.is(await store.workloads.get('api'), undefined);
    t.is(await store.jobs.get('twice'), undefined);
    t.is((await store.releases.get('app', '2.0.0'))?.digest, release('run').digest);
  });

  test(`${label}: ConfigMaps and Secrets go in with an apply's other kinds, or not at all; get, list, delete`, async (t) => {
    const { store } = await opened(t);
    const bad = { ...workload('broken'), spec: undefined } as unknown as WorkloadRecord;
    await t.throwsAsync(store.applyDocuments({ configObjects: [configMap('settings')], workloads: [bad] }));
    t.is(await store.configObjects.get('ConfigMap', 'settings'), undefined, 'refused with the workload');
    await store.applyDocuments({ configObjects: [configMap('settings'), configMap('other')], workloads: [workload('web')] });
    t.is((await store.configObjects.get('ConfigMap', 'settings'))?.name, 'settings');
    t.is(await store.configObjects.get('Secret', 'settings'), undefined, 'kinds are apart');
    t.deepEqual((await store.configObjects.list('ConfigMap')).map((o) => o.name), ['other', 'settings']);
    t.deepEqual((await store.configObjects.list('Secret')).map((o) => o.name), []);
    t.is((await store.configObjects.snapshot()).length, 2);
    t.true(await store.configObjects.delete('ConfigMap', 'other'));
    t.false(await store.configObjects.delete('ConfigMap', 'other'));
    t.deepEqual((await store.configObjects.list()).map((o) => o.name), ['settings']);
  });

  test(`${label}: releases are immutable: same content unchanged, other content refused`, async (t) => {
    const { store } = await opened(t);
    t.is(await store.releases.create(release('run')), 'created');
    t.is(await store.releases.create(release('run')), 'unchanged');
    const err = await t.throwsAsync(store.releases.create(release('other')), { instanceOf: ReleaseImmutableError });
    t.is(err?.code, 'ReleaseImmutable');
    t.is(await store.releases.create(release('other', '2.0.1')), 'created');
    t.deepEqual((await store.releases.list()).map((r) => r.spec.version).sort(), ['2.0.0', '2.0.1']);
  });

  test(`${label}: rollouts, maintenance windows, gate verdicts and release pins`, async (t) => {
    const { store } = await opened(t);
    await store.rollouts.put(rollout());
    t.deepEqual(await store.rollouts.get('ro'), rollout());
    t.deepEqual((await store.rollouts.list()).map((r) => r.name), ['ro']);
    const pin = { release: { name: 'app', version: '2.0.0' }, rollout: 'ro', since: T0 };
    await store.releasePins.set(['d1', 'd2'], pin);
    t.deepEqual(await store.releasePins.get('d1'), pin);
    await store.releasePins.set(['d1', 'd2'], pin);
    t.deepEqual([...(await store.releasePins.all()).keys()].sort(), ['d1', 'd2'], 'idempotent');
    await store.releasePins.set(['d1'], null);
    t.deepEqual([...(await store.releasePins.all()).keys()], ['d2']);
    await store.gateVerdicts.put({ releaseDigest: release('run').digest, result: 'pass', at: T0, rollout: 'ro', reason: 'ok' });
    t.is((await store.gateVerdicts.get(release('run').digest))?.result, 'pass');
    t.is(await store.gateVerdicts.get(release('other').digest), undefined);
    t.deepEqual(await store.maintenanceWindows.list(), []);
    t.false(await store.maintenanceWindows.delete('none'));
  });

  test(`${label}: job runs are kept once per device and id; deleting a Job or CronJob deletes its runs`, async (t) => {
    const { store } = await opened(t);
    await store.applyDocuments({ cronJobs: [cronJob('tick')], jobs: [job('once')] });
    t.is(await store.jobRuns.add([run('r1', 'dev-a'), run('r2', 'dev-a')]), 2);
    t.is(await store.jobRuns.add([run('r1', 'dev-a')]), 0, 'a duplicate adds nothing');
    t.is(await store.jobRuns.add([run('r1', 'dev-b')]), 1, 'another device is another run');
    t.deepEqual((await store.jobRuns.list('CronJob/tick')).map((r) => `${r.device}/${r.id}`), ['dev-a/r1', 'dev-a/r2', 'dev-b/r1']);
    t.true(await store.cronJobs.delete('tick'));
    t.deepEqual(await store.jobRuns.list('CronJob/tick'), []);
    t.false(await store.cronJobs.delete('tick'));
    t.true(await store.jobs.delete('once'));
    await store.jobRuns.add([run('r9', 'dev-a', 'other')]);
    await store.jobRuns.deleteOwner('CronJob/other');
    t.deepEqual(await store.jobRuns.list('CronJob/other'), []);
  });

  test(`${label}: settled resolves once writes are durable; commits count`, async (t) => {
    const { store } = await opened(t);
    await store.settled();
    const before = store.commits;
    await Promise.all([store.devices.put(device('gw-1'), 'sync'), store.workloads.putAll([workload('web')])]);
    await store.settled();
    t.true(store.commits > before);
    t.truthy(await store.devices.get('gw-1'));
  });
}
