// What a placement pass over an unchanged fleet does again (issue 11: the pass at 20,000 devices).
// Work is counted, not timed: scheduler snapshots built, devices compiled, placements copied.
// A pass with nothing changed builds no snapshot, compiles no device and returns each placement
// it leaves alone as it came; one changed device costs one snapshot and one compile; the
// placements handed in are never changed (the controller compares them with the result).
import test from 'ava';
import { workloadSpecSchema, type DesiredState, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { PlacementPassCache, runPlacementPass, type PlacementPassInput } from '../../../src/hub/workloads/placement-pass.js';
import { instanceId } from '../../../src/hub/workloads/desired-documents.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const now = Date.parse('2026-01-10T08:00:00Z');
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: new Date(now - 60_000).toISOString() };
const template = { runtime: 'process', command: ['sleep', '100'], resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 20 } } };

function workload(name: string, spec: Record<string, unknown>): WorkloadRecord {
  return { name, labels: {}, annotations: {}, spec: workloadSpecSchema.parse({ template, ...spec }), revision: `rev-${name}`, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };
}

function deviceRecord(index: number): DeviceRecord {
  const id = `dev-${String(index).padStart(3, '0')}`;
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels: { zone: `z${index % 4}` },
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: new Date(now - 3_600_000).toISOString(),
    joinedWithToken: 'tok',
    status: online,
    facts: gatewayFacts({ hostname: id, memory: { totalBytes: 2 * 2 ** 30 } }),
  };
}

const helper = workload('helper', { replicas: 'all' });
const spread = workload('spread', { replicas: 150, topologySpread: [{ topologyKey: 'zone', maxSkew: 1 }] });
const small = workload('small', { replicas: 5 });

/** The store hands out copies: each pass gets placements equal to the last result, as new objects. */
const stored = (placements: ReadonlyMap<string, PlacementRecord>): Map<string, PlacementRecord> => new Map([...placements].map(([k, v]) => [k, structuredClone(v)]));

test('a pass over an unchanged fleet builds no snapshot and copies no placement; one changed device costs one of each', (t) => {
  let devices = Array.from({ length: 200 }, (_, i) => deviceRecord(i));
  const doc: DesiredState = { generation: 1, issuedAt: new Date(now).toISOString(), instances: [{ id: 'helper', workload: 'helper', revision: helper.revision, template: helper.spec.template }] };
  const published = new Map(devices.map((d) => [d.id, doc] as const));
  const cache = new PlacementPassCache();
  const input = (placements: Map<string, PlacementRecord>, workloads = [helper, spread, small]): PlacementPassInput => ({ now, devices, workloads, placements, published, ready: new Set(), cache });

  const first = runPlacementPass(input(new Map()));
  t.is(Object.keys(first.placements.get('spread')?.replicas ?? {}).length, 150);
  t.is(cache.snapshotsBuilt, 200);
  t.is(cache.devices.compiles, 200);
  // The next pass is the first to see the placed replicas: the devices that got one have new occupancy.
  runPlacementPass(input(stored(first.placements)));
  t.is(cache.snapshotsBuilt, 355, '155 devices hold a placed replica now');

  const handedIn = stored(first.placements);
  const again = runPlacementPass(input(handedIn));
  t.is(cache.snapshotsBuilt, 355, 'nothing changed: no snapshot built');
  t.is(cache.devices.compiles, 200, 'nothing changed: no device compiled');
  t.is(again.placements.get('spread'), handedIn.get('spread'), 'a placement the pass leaves alone is returned as it came, not copied');
  t.is(again.placements.get('small'), handedIn.get('small'));
  t.deepEqual(again.events, []);

  // As the store writes: a new record object for the one device whose labels changed.
  devices = devices.map((d) => (d.id === 'dev-007' ? { ...d, labels: { zone: 'z9' } } : d));
  runPlacementPass(input(stored(first.placements)));
  t.is(cache.snapshotsBuilt, 356, 'one device changed: one snapshot');
  t.is(cache.devices.compiles, 201, 'one device changed: one compile');

  // A template change of `small` gives its 5 devices new instances: their snapshots only.
  const changed = { ...small, revision: 'rev-small-2' };
  runPlacementPass(input(stored(first.placements), [helper, spread, changed]));
  t.is(cache.snapshotsBuilt, 361);
  t.is(cache.devices.compiles, 201, 'what a device runs is not what it is: nothing compiled');
});

test('the placements handed in are never changed, also when the pass scales down and places', (t) => {
  const devices = Array.from({ length: 40 }, (_, i) => deviceRecord(i));
  const cache = new PlacementPassCache();
  const base = { now, devices, published: new Map<string, DesiredState>(), ready: new Set<string>() };
  const first = runPlacementPass({ ...base, workloads: [spread, small], placements: new Map(), cache });
  const handedIn = stored(first.placements);
  const before = structuredClone(handedIn);
  const fewer = workload('spread', { replicas: 20, topologySpread: [{ topologyKey: 'zone', maxSkew: 1 }] });
  const more = workload('small', { replicas: 9 });
  const next = runPlacementPass({ ...base, workloads: [fewer, more], placements: handedIn, cache });
  t.deepEqual(handedIn, before, 'the input placements are as they were');
  t.is(Object.keys(next.placements.get('spread')?.replicas ?? {}).length, 20);
  t.is(Object.keys(next.placements.get('small')?.replicas ?? {}).length, 9);
  t.not(next.placements.get('spread'), handedIn.get('spread'));
  t.deepEqual(next, runPlacementPass({ ...base, workloads: [fewer, more], placements: stored(first.placements) }), 'the same as a pass without the cache');
});

test('a drain moves a replica off the draining device in a copy; the placement handed in is as it was', (t) => {
  let devices = Array.from({ length: 10 }, (_, i) => deviceRecord(i));
  const web = workload('web', { replicas: 3 });
  const cache = new PlacementPassCache();
  const base = { now, published: new Map<string, DesiredState>(), workloads: [web], cache };
  const first = runPlacementPass({ ...base, devices, placements: new Map(), ready: new Set() });
  const replicas = first.placements.get('web')?.replicas ?? {};
  const host = replicas['0'] as string;
  // `edgepilot drain` cordons and drains.
  devices = devices.map((d) => (d.id === host ? { ...d, draining: true, unschedulable: true } : d));
  const ready = new Set(Object.entries(replicas).map(([o, d]) => `${d}/${instanceId('web', Number(o))}`));
  const handedIn = stored(first.placements);
  const before = structuredClone(handedIn);
  const drained = runPlacementPass({ ...base, devices, placements: handedIn, ready });
  t.deepEqual(handedIn, before);
  t.deepEqual(drained.events.filter((e) => e.event.reason === 'Drained').length, 1);
  t.not(drained.placements.get('web')?.replicas['0'], host, 'replica 0 left the draining device');
  t.is(Object.keys(drained.placements.get('web')?.replicas ?? {}).length, 3, 'and was placed again');
});
