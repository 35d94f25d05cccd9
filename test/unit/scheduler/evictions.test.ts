import test from 'ava';
import { wellKnownTaints } from '../../../src/protocol/index.js';
import type { EvictionPolicy } from '../../../src/scheduler/index.js';
import { decideEvictions } from '../../../src/scheduler/index.js';
import { device, instance, iso, now, spec } from './fixtures.js';

const policies = (entries: Record<string, Record<string, unknown>>): Map<string, EvictionPolicy> =>
  new Map(Object.entries(entries).map(([name, input]) => [name, spec(input)]));

const offlineFor = (seconds: number) =>
  device('edge-1', { online: false, offlineSince: iso(now - seconds * 1000), instances: [instance('web-0', 'web'), instance('log-0', 'log')] });

test('an offline device: replicas move after offlineGraceSeconds, not before', (t) => {
  const workloads = policies({ web: { replicas: 3, offlineGraceSeconds: 300 }, log: { replicas: 'all' } });
  const before = decideEvictions({ devices: [offlineFor(299)], workloads, now });
  t.deepEqual(before.evictions, []);
  t.is(before.nextCheckAt, now + 1000, 'due one second later');
  const after = decideEvictions({ devices: [offlineFor(300)], workloads, now });
  t.deepEqual(after.evictions, [
    { instanceId: 'web-0', workload: 'web', deviceId: 'edge-1', action: 'move', reason: 'device offline for more than 300s' },
  ]);
  t.is(after.nextCheckAt, undefined, "replicas: all instances are never moved, so there's nothing to wait for");
});

test('an online device without NoExecute taints evicts nothing', (t) => {
  const d = device('edge-1', { instances: [instance('web-0', 'web')] });
  t.deepEqual(decideEvictions({ devices: [d], workloads: policies({ web: { replicas: 2 } }), now }), { evictions: [], nextCheckAt: undefined });
});

test('the hub-set unreachable taint counts from its addedAt; a declared toleration replaces the grace', (t) => {
  const taint = { key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute' as const, addedAt: iso(now - 120_000) };
  const d = device('edge-1', { online: false, offlineSince: iso(now - 3_600_000), taints: [taint], instances: [instance('web-0', 'web')] });
  t.is(decideEvictions({ devices: [d], workloads: policies({ web: { replicas: 1, offlineGraceSeconds: 100 } }), now }).evictions.length, 1);
  t.is(decideEvictions({ devices: [d], workloads: policies({ web: { replicas: 1, offlineGraceSeconds: 200 } }), now }).evictions.length, 0);
  const patient = { replicas: 1, offlineGraceSeconds: 10, tolerations: [{ key: wellKnownTaints.unreachable, operator: 'Exists', effect: 'NoExecute' }] };
  t.is(decideEvictions({ devices: [d], workloads: policies({ web: patient }), now }).evictions.length, 0, 'tolerated for ever');
});

test('other NoExecute taints: immediate unless tolerated, tolerationSeconds from addedAt', (t) => {
  const taint = { key: 'maintenance', value: '', effect: 'NoExecute' as const, addedAt: iso(now - 30_000) };
  const d = device('edge-1', { taints: [taint], instances: [instance('web-0', 'web'), instance('log-0', 'log')] });
  const r = decideEvictions({ devices: [d], workloads: policies({ web: { replicas: 2 }, log: { replicas: 'all' } }), now });
  t.deepEqual(
    r.evictions.map((e) => [e.instanceId, e.action, e.reason]),
    [
      ['log-0', 'stop', 'NoExecute taint maintenance not tolerated'],
      ['web-0', 'move', 'NoExecute taint maintenance not tolerated'],
    ],
  );
  const tol = (s: number) => policies({ web: { replicas: 2, tolerations: [{ key: 'maintenance', operator: 'Exists', tolerationSeconds: s }] } });
  const waiting = decideEvictions({ devices: [d], workloads: tol(60), now });
  t.deepEqual(waiting.evictions, []);
  t.is(waiting.nextCheckAt, now + 30_000);
  t.is(decideEvictions({ devices: [d], workloads: tol(30), now }).evictions[0]?.reason, 'NoExecute taint maintenance tolerated until its tolerationSeconds expired');
});

test('instances of unknown workloads are left alone; order is by device then instance id', (t) => {
  const d1 = device('b', { online: false, offlineSince: iso(now - 1e6), instances: [instance('z', 'web'), instance('a', 'web'), instance('q', 'gone')] });
  const d2 = device('a', { online: false, offlineSince: iso(now - 1e6), instances: [instance('m', 'web')] });
  const r = decideEvictions({ devices: [d1, d2], workloads: policies({ web: { replicas: 3 } }), now });
  t.deepEqual(r.evictions.map((e) => `${e.deviceId}/${e.instanceId}`), ['a/m', 'b/a', 'b/z']);
});
