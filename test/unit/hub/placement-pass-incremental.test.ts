// Compiled devices kept between placement passes (src/scheduler/compiled-cache.ts, issue 11): a
// pass compiles only the devices whose records changed, and decides exactly what a pass without
// the cache decides. Invalidation is where such caches go wrong, so each kind of change is made
// the way the store makes it (a new record object, the unchanged parts shared) and must be seen
// by the next pass: a label change, a cordon, a taint, new facts, a device deleted, a new device.
import test, { type ExecutionContext } from 'ava';
import { workloadSpecSchema, type DesiredState, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { PlacementPassCache, runPlacementPass, type PlacementPassInput } from '../../../src/hub/workloads/placement-pass.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const now = Date.parse('2026-01-10T08:00:00Z');
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: new Date(now - 60_000).toISOString() };
const template = { runtime: 'process', command: ['sleep', '100'], resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 20 } } };

function workload(name: string, spec: Record<string, unknown>, templateOverride: Record<string, unknown> = {}): WorkloadRecord {
  return { name, labels: {}, annotations: {}, spec: workloadSpecSchema.parse({ template: { ...template, ...templateOverride }, ...spec }), revision: `rev-${name}`, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };
}

function deviceRecord(index: number): DeviceRecord {
  const id = `dev-${String(index).padStart(2, '0')}`;
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels: { zone: index % 2 === 0 ? 'even' : 'odd' },
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: new Date(now - 3_600_000).toISOString(),
    joinedWithToken: 'tok',
    status: online,
    facts: gatewayFacts({ hostname: id, memory: { totalBytes: 2 * 2 ** 30 } }),
  };
}

const workloads = [
  workload('helper', { replicas: 'all' }),
  workload('web', { replicas: 12 }),
  workload('pinned', { replicas: 1, selector: { matchLabels: { zone: 'special' } } }),
  workload('big', { replicas: 1 }, { resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 30 } } }),
];

function input(devices: DeviceRecord[], placements = new Map<string, PlacementRecord>(), published = new Map<string, DesiredState>(), cache?: PlacementPassCache): PlacementPassInput {
  return { now, devices, workloads, placements, published, ready: new Set(), ...(cache ? { cache } : {}) };
}

/** The pass with the cache and a pass without one decide the same. */
function both(t: ExecutionContext, devices: DeviceRecord[], cache: PlacementPassCache): ReturnType<typeof runPlacementPass> {
  const withCache = runPlacementPass(input(devices, undefined, undefined, cache));
  const without = runPlacementPass(input(devices));
  t.deepEqual(withCache, without);
  return withCache;
}

const hostOf = (result: ReturnType<typeof runPlacementPass>, name: string): string[] => Object.values(result.placements.get(name)?.replicas ?? {}).sort();

test('an unchanged fleet is not compiled again; each kind of change is seen by the next pass', (t) => {
  const cache = new PlacementPassCache();
  let devices = Array.from({ length: 20 }, (_, i) => deviceRecord(i));
  const first = both(t, devices, cache);
  t.is(cache.devices.compiles, 20);
  t.deepEqual(hostOf(first, 'pinned'), [], 'no device is in zone special yet');
  t.deepEqual(hostOf(first, 'big'), [], 'no device has 8 GiB');
  both(t, devices, cache);
  t.is(cache.devices.compiles, 20, 'the same records: nothing compiled again');

  // As the store writes: a new record object; labels, taints, facts new only where they changed.
  const replace = (id: string, change: (d: DeviceRecord) => DeviceRecord): void => {
    devices = devices.map((d) => (d.id === id ? change(d) : d));
  };
  replace('dev-03', (d) => ({ ...d, labels: { zone: 'special' } }));
  replace('dev-05', (d) => ({ ...d, facts: gatewayFacts({ hostname: d.id, memory: { totalBytes: 16 * 2 ** 30 } }) }));
  replace('dev-06', (d) => ({ ...d, status: { ...online }, lastSeen: new Date(now).toISOString() }));
  const changed = both(t, devices, cache);
  t.is(cache.devices.compiles, 22, 'only the device whose labels changed and the one with new facts (a new status object alone with the same state is no change)');
  t.deepEqual(hostOf(changed, 'pinned'), ['dev-03'], 'the label change is seen');
  t.deepEqual(hostOf(changed, 'big'), ['dev-05'], 'the new facts are seen');

  replace('dev-03', (d) => ({ ...d, unschedulable: true }));
  replace('dev-05', (d) => ({ ...d, taints: [{ key: 'maintenance', value: '', effect: 'NoSchedule', addedAt: new Date(now).toISOString() }] }));
  const cordoned = both(t, devices, cache);
  t.is(cache.devices.compiles, 24);
  t.deepEqual(hostOf(cordoned, 'pinned'), [], 'a cordoned device gets no new replica');
  t.deepEqual(hostOf(cordoned, 'big'), [], 'a tainted device gets no new replica');
  t.false(hostOf(cordoned, 'web').includes('dev-03'));

  replace('dev-07', (d) => ({ ...d, status: { ...online, state: 'offline', since: new Date(now).toISOString() } }));
  const offline = both(t, devices, cache);
  t.is(cache.devices.compiles, 25, 'online → offline is a change');
  t.false(hostOf(offline, 'web').includes('dev-07'));

  devices = devices.filter((d) => d.id !== 'dev-08');
  devices.push(deviceRecord(20), { ...deviceRecord(21), id: 'dev-00a', hardwareId: 'hw-new' });
  const reshaped = both(t, devices, cache);
  t.is(cache.devices.compiles, 27, 'new devices are compiled; one that joined early in id order shifts the rest without a compile');
  t.is(cache.devices.size, devices.length, 'a deleted device is forgotten');
  t.false(reshaped.everyDevice.get('helper')?.has('dev-08'));
  t.true(reshaped.everyDevice.get('helper')?.has('dev-00a'));
  t.true(reshaped.everyDevice.get('helper')?.has('dev-20'));
});

test('replicas: all occupancy kept per published document: a new document or a new revision of the workload is seen', (t) => {
  const cache = new PlacementPassCache();
  // dev-00 and dev-01 no longer match the helper's selector: it never starts there again, but
  // while their documents hold it, it occupies them.
  const devices = Array.from({ length: 12 }, (_, i) => (i < 2 ? deviceRecord(i) : { ...deviceRecord(i), labels: { zone: 'x', role: 'gw' } }));
  const doc = (generation: number, helper: WorkloadRecord): DesiredState => ({
    generation,
    issuedAt: new Date(now).toISOString(),
    instances: [{ id: helper.name, workload: helper.name, revision: helper.revision, template: helper.spec.template }],
  });
  // The helper asks for most of a device's memory: what else fits depends on it being counted.
  const gw = { selector: { matchLabels: { role: 'gw' } } };
  let helper = workload('helper', { replicas: 'all', ...gw }, { resources: { requests: { cpuMillis: 10, memoryBytes: 1.5 * 2 ** 30 } } });
  const web = workload('web', { replicas: 8 }, { resources: { requests: { cpuMillis: 10, memoryBytes: 0.5 * 2 ** 30 } } });
  let published = new Map(devices.map((d) => [d.id, doc(1, helper)] as const));
  const run = (): ReturnType<typeof runPlacementPass> => {
    const base = { now, devices, workloads: [helper, web], placements: new Map<string, PlacementRecord>(), published, ready: new Set<string>() };
    const withCache = runPlacementPass({ ...base, cache });
    t.deepEqual(withCache, runPlacementPass(base));
    return withCache;
  };
  const placedWeb = (r: ReturnType<typeof runPlacementPass>): number => Object.keys(r.placements.get('web')?.replicas ?? {}).length;
  t.is(placedWeb(run()), 0, 'with the helper counted, nothing of web fits (2 GiB minus the reserve)');
  t.is(placedWeb(run()), 0, 'the same from the kept lists');
  // The helper shrinks (a new revision): every device has room for web again.
  helper = workload('helper', { replicas: 'all', ...gw }, { resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 20 } } });
  helper.revision = 'rev-helper-2';
  // Before the new documents go out, the same document objects are counted at the new template.
  t.is(placedWeb(run()), 8);
  published = new Map(devices.map((d) => [d.id, doc(2, helper)] as const));
  t.is(placedWeb(run()), 8);
  // The helper grows again; dev-00 and dev-01 are sent documents without it: only they have room.
  helper = workload('helper', { replicas: 'all', ...gw }, { resources: { requests: { cpuMillis: 10, memoryBytes: 1.5 * 2 ** 30 } } });
  helper.revision = 'rev-helper-3';
  published = new Map(devices.map((d, i) => [d.id, i < 2 ? { generation: 3, issuedAt: new Date(now).toISOString(), instances: [] } : doc(3, helper)] as const));
  const last = run();
  t.is(placedWeb(last), 6, 'three replicas fit on each of the two');
  t.deepEqual([...new Set(Object.values(last.placements.get('web')?.replicas ?? {}))].sort(), ['dev-00', 'dev-01']);
});
