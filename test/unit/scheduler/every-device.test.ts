import test from 'ava';
import { wellKnownLabels, wellKnownTaints } from '../../../src/protocol/index.js';
import { planEveryDevice } from '../../../src/scheduler/index.js';
import { GiB, containerTemplate, device, instance, iso, now, options, spec } from './fixtures.js';

test('replicas: all — every matching device, offline and cordoned ones included', (t) => {
  const unreachable = { key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute' as const, addedAt: iso(now - 1e7) };
  const devices = [
    device('a'),
    device('b', { online: false, taints: [unreachable] }),
    device('c', { unschedulable: true }),
    device('d', { arch: 'amd64' }),
    device('e', { noFacts: true }),
    device('f', { memory: GiB / 2 }),
    device('g', { instances: [instance('x', 'log')] }),
    device('h', { arch: 'amd64', instances: [instance('y', 'log')] }),
    device('i', { taints: [{ key: 'maint', value: '', effect: 'NoSchedule' }], instances: [instance('z', 'log')] }),
    device('j', { taints: [{ key: 'maint', value: '', effect: 'NoExecute' }], instances: [instance('w', 'log')] }),
  ];
  const log = spec({
    replicas: 'all',
    selector: { matchLabels: { [wellKnownLabels.arch]: 'arm64' } },
    template: containerTemplate({ resources: { requests: { memory: '1Gi' } } }),
  });
  const plan = planEveryDevice(devices, 'log', log, options);
  t.deepEqual(plan.placements.map((p) => p.deviceId), ['a', 'b', 'c']);
  t.deepEqual(plan.keep, ['g', 'i']);
  t.deepEqual(plan.remove, ['h', 'j']);
  t.deepEqual(plan.unfit, [{ reason: 'insufficient memory', devices: 1 }]);
});
