// Every score, case by case: which device wins and why (explainDevice's breakdown).
import test from 'ava';
import { explainDevice } from '../../../src/scheduler/index.js';
import { normalizeImage } from '../../../src/scheduler/scores/image-locality.js';
import { containerTemplate, device, instance, options, place, request, tally, zoneKey } from './fixtures.js';

const zoneOf = (id: string): string => id.charAt(0);
const spreadZones = (whenUnsatisfiable: string, maxSkew = 1) => ({ topologySpread: [{ topologyKey: zoneKey, maxSkew, whenUnsatisfiable }] });
const cpu = (c: string) => ({ template: containerTemplate({ resources: { requests: { cpu: c } } }) });

test('spread across devices: identical devices get one replica each before any gets two', (t) => {
  const devices = ['d1', 'd2', 'd3', 'd4'].map((id) => device(id));
  t.deepEqual(tally(place(devices, {}, 4)), { d1: 1, d2: 1, d3: 1, d4: 1 });
  t.deepEqual(tally(place(devices, {}, 8)), { d1: 2, d2: 2, d3: 2, d4: 2 });
});

test('spread across zones (ScheduleAnyway): 6 replicas over 3 zones → 2/2/2', (t) => {
  const devices = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2'].map((id) => device(id, { zone: zoneOf(id) }));
  t.deepEqual(tally(place(devices, spreadZones('ScheduleAnyway'), 6), zoneOf), { a: 2, b: 2, c: 2 });
});

test('spread across zones by default: the system-default zone constraint applies without declared ones', (t) => {
  const devices = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'c1', 'c2'].map((id) => device(id, { zone: zoneOf(id) }));
  const r = place(devices, {}, 3);
  t.deepEqual(tally(r, zoneOf), { a: 1, b: 1, c: 1 });
});

test('maxSkew with DoNotSchedule: uneven zones still end 2/2/2, and a full zone blocks the rest', (t) => {
  const devices = ['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'c2'].map((id) => device(id, { zone: zoneOf(id) }));
  t.deepEqual(tally(place(devices, spreadZones('DoNotSchedule'), 6), zoneOf), { a: 2, b: 2, c: 2 });
  // Zone b's only device holds one 1-core replica: with maxSkew 1, a and c stop at 2.
  const tight = ['a1', 'a2', 'a3', 'b1', 'c1', 'c2'].map((id) => device(id, { zone: zoneOf(id), cores: id === 'b1' ? 1 : 8 }));
  const r = place(tight, { ...spreadZones('DoNotSchedule'), ...cpu('1') }, 8);
  t.deepEqual(tally(r, zoneOf), { a: 2, b: 1, c: 2 });
  t.is(r.unplaced?.replicas, 3);
  t.is(r.unplaced?.summary, '0/6 devices fit: 5 topology spread topology.edgepilot.io/zone maxSkew 1 exceeded, 1 insufficient cpu');
  // maxSkew 2 lets a and c run one further ahead.
  t.deepEqual(tally(place(tight, { ...spreadZones('DoNotSchedule', 2), ...cpu('1') }, 8), zoneOf), { a: 3, b: 1, c: 3 });
});

test('spread counts the replicas already placed', (t) => {
  const devices = ['a1', 'a2', 'b1', 'c1'].map((id) => device(id, { zone: zoneOf(id) }));
  const withOld = devices.map((d) => (d.id === 'a1' ? { ...d, instances: [instance('w-0', 'web'), instance('w-1', 'web')] } : d));
  t.deepEqual(tally(place(withOld, spreadZones('ScheduleAnyway'), 2), zoneOf), { b: 1, c: 1 });
  // Another workload's replicas do not count.
  const other = devices.map((d) => (d.id === 'a1' ? { ...d, instances: [instance('o-0', 'other')] } : d));
  t.is(place(other, spreadZones('ScheduleAnyway'), 1).placements[0]?.deviceId, 'a1');
});

test('LeastAllocated spreads load, MostAllocated packs', (t) => {
  const devices = [device('a', { cores: 4 }), device('b', { cores: 4 })];
  t.deepEqual(tally(place(devices, cpu('1'), 3)), { a: 2, b: 1 });
  t.deepEqual(tally(place(devices, { ...cpu('1'), scoring: 'MostAllocated' }, 3)), { a: 3 });
  t.deepEqual(tally(place(devices, { ...cpu('1'), scoring: 'MostAllocated' }, 6)), { a: 4, b: 2 });
  // LeastAllocated prefers the emptier device even against the id tie-break.
  const busy = [device('a', { cores: 4, instances: [instance('x', 'other', { cpuMillis: 3000 })] }), device('b', { cores: 4 })];
  t.is(place(busy, cpu('500m'), 1).placements[0]?.deviceId, 'b');
  t.is(place(busy, { ...cpu('500m'), scoring: 'MostAllocated' }, 1).placements[0]?.deviceId, 'a');
});

test('preferred affinity: summed weights of matching terms, normalised to the best device', (t) => {
  const devices = [device('a'), device('b', { labels: { ssd: 'true' } }), device('c', { labels: { ssd: 'true', gen: '5' } })];
  const pref = (weight: number, key: string) => ({ weight, preference: { matchExpressions: [{ key, operator: 'Exists' }] } });
  const input = { affinity: { preferred: [pref(40, 'ssd'), pref(40, 'gen')] } };
  t.is(place(devices, input, 1).placements[0]?.deviceId, 'c');
  const score = (id: string) => explainDevice(devices, request('web', input, 1), id, options)?.scores?.preferredAffinity;
  t.deepEqual([score('a'), score('b'), score('c')], [0, 50, 100]);
});

test('PreferNoSchedule: untolerated taints lower the score, tolerated ones do not', (t) => {
  const soft = { key: 'battery', value: 'low', effect: 'PreferNoSchedule' as const };
  const devices = [device('a', { taints: [soft] }), device('b')];
  t.is(place(devices, {}, 1).placements[0]?.deviceId, 'b');
  const tolerant = { tolerations: [{ key: 'battery', operator: 'Exists' }] };
  t.is(place(devices, tolerant, 1).placements[0]?.deviceId, 'a', 'equal scores: the lower id wins');
  const score = (id: string) => explainDevice(devices, request('web', {}, 1), id, options)?.scores?.taintToleration;
  t.deepEqual([score('a'), score('b')], [0, 100]);
});

test('image locality: a device that already has the image is preferred', (t) => {
  const devices = [device('a'), device('b', { images: ['docker.io/library/app:1'] })];
  t.is(place(devices, {}, 1).placements[0]?.deviceId, 'b');
  t.is(place(devices, { template: containerTemplate({ image: 'app:2' }) }, 1).placements[0]?.deviceId, 'a');
  t.is(normalizeImage('nginx'), 'nginx:latest');
  t.is(normalizeImage('docker.io/library/nginx'), 'nginx:latest');
  t.is(normalizeImage('registry.local:5000/cam/agent'), 'registry.local:5000/cam/agent:latest');
  t.is(normalizeImage('ghcr.io/x/y@sha256:abc'), 'ghcr.io/x/y@sha256:abc');
});

test('image locality is scaled by the share of devices holding the image: it does not outweigh spreading (issue 12)', (t) => {
  const devices = [device('a', { images: ['app:1'] }), device('b')];
  t.deepEqual(tally(place(devices, {}, 2)), { a: 1, b: 1 });
  t.deepEqual(tally(place(devices, {}, 4)), { a: 2, b: 2 });
  const everywhere = [device('a', { images: ['app:1'] }), device('b', { images: ['app:1'] }), device('c')];
  const score = (id: string): number | undefined => explainDevice(everywhere, request('web', {}, 1), id, options)?.scores?.imageLocality;
  t.deepEqual([score('a'), score('b'), score('c')], [66, 66, 0]);
});

test('explainDevice: score breakdown and rank', (t) => {
  const devices = [device('a', { images: ['app:1'] }), device('b')];
  const a = explainDevice(devices, request('web', {}, 1), 'a', options);
  const b = explainDevice(devices, request('web', {}, 1), 'b', options);
  t.deepEqual(a?.scores, { topologySpread: 100, resources: 100, preferredAffinity: 0, taintToleration: 100, imageLocality: 50, total: 650 });
  t.is(a?.rank, 1);
  t.is(b?.rank, 2);
  t.is(b?.summary, 'b fits web but ranks 2 of 2 (score 600; a has 650)');
});
