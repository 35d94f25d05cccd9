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

test('replicas: all — a matching device without a requested serial device gets no instance, and the plan says why', (t) => {
  const devices = [device('a', { serialPorts: ['/dev/ttyUSB0'] }), device('b'), device('c', { serialPorts: ['/dev/ttyS0'] })];
  const reader = spec({ replicas: 'all', template: containerTemplate({ serialDevices: ['/dev/ttyUSB0'] }) });
  const plan = planEveryDevice(devices, 'reader', reader, options);
  t.deepEqual(plan.placements.map((p) => p.deviceId), ['a']);
  t.deepEqual(plan.unfit, [{ reason: 'missing serial device /dev/ttyUSB0', devices: 2 }]);
});

test('replicas: all — a device that joined but never connected gets no instance; an offline one that was connected does', (t) => {
  const devices = [device('joined', { online: false, ready: false }), device('gone', { online: false, ready: false, offlineSince: iso(now - 1000) })];
  const neverConnected = { ...devices[0]!, neverConnected: true };
  const plan = planEveryDevice([neverConnected, devices[1]!], 'log', spec({ replicas: 'all' }), options);
  t.deepEqual(plan.placements.map((p) => p.deviceId), ['gone']);
  t.deepEqual(plan.unfit, []);
});
