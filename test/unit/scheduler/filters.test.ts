// Every filter, case by case, with its exact reason text (via the unplaced summary of a
// one-device fleet, and via explainDevice's per-filter verdicts).
import test from 'ava';
import { wellKnownLabels, wellKnownTaints } from '../../../src/protocol/index.js';
import { explainDevice, placeReplicas } from '../../../src/scheduler/index.js';
import type { DeviceSnapshot } from '../../../src/scheduler/index.js';
import { GiB, MiB, containerTemplate, device, instance, iso, now, options, place, request } from './fixtures.js';

/** The summary for one replica of `input` on `devices` ('' when it was placed). */
function why(devices: DeviceSnapshot[], input: Record<string, unknown> = {}): string {
  return place(devices, input, 1).unplaced?.summary ?? '';
}

const arm64Only = { selector: { matchLabels: { [wellKnownLabels.arch]: 'arm64' } } };

test('online: offline, not ready and factless devices are not chosen', (t) => {
  t.is(why([device('a', { online: false })]), '0/1 devices fit: 1 device offline');
  t.is(why([device('a', { ready: false })]), '0/1 devices fit: 1 device not ready');
  t.is(why([device('a', { noFacts: true })]), '0/1 devices fit: 1 no facts reported');
  t.is(why([device('a')]), '');
});

test('cordon: a cordoned device is skipped unless the unschedulable taint is tolerated', (t) => {
  t.is(why([device('a', { unschedulable: true })]), '0/1 devices fit: 1 device cordoned');
  const tolerates = { tolerations: [{ key: wellKnownTaints.unschedulable, operator: 'Exists', effect: 'NoSchedule' }] };
  t.is(why([device('a', { unschedulable: true })], tolerates), '');
});

test('runtime: containers need docker, processes the process runtime', (t) => {
  t.is(why([device('a', { docker: false })]), '0/1 devices fit: 1 container runtime unavailable');
  const proc = { template: { runtime: 'process', command: ['/usr/bin/app'] } };
  t.is(why([device('a', { docker: false })], proc), '');
  t.is(why([device('a', { process: false })], proc), '0/1 devices fit: 1 process runtime unavailable');
});

test('arch: selector on the well-known label, which facts set (a user label cannot override it)', (t) => {
  t.is(why([device('a', { arch: 'amd64' })], arm64Only), '0/1 devices fit: 1 arch mismatch');
  t.is(why([device('a', { arch: 'arm64' })], arm64Only), '');
  const lying = device('a', { arch: 'armv7', labels: { [wellKnownLabels.arch]: 'arm64' } });
  t.is(why([lying], arm64Only), '0/1 devices fit: 1 arch mismatch');
});

test('arch: required affinity counts as arch mismatch only when every term is ruled out by arch', (t) => {
  const terms = (exprs: unknown[][]) => ({ affinity: { required: exprs.map((e) => ({ matchExpressions: e })) } });
  const arch = (op: string, values: string[]) => ({ key: wellKnownLabels.arch, operator: op, values });
  const gpu = { key: 'gpu', operator: 'Exists' };
  t.is(why([device('a', { arch: 'armv7' })], terms([[arch('In', ['arm64', 'amd64'])]])), '0/1 devices fit: 1 arch mismatch');
  t.is(why([device('a', { arch: 'amd64' })], terms([[arch('In', ['arm64'])], [arch('In', ['amd64'])]])), '');
  // The second term allows armv7 by arch but needs a gpu label: an affinity failure, not arch.
  t.is(why([device('a', { arch: 'armv7' })], terms([[arch('In', ['arm64'])], [arch('NotIn', ['amd64']), gpu]])), '0/1 devices fit: 1 required affinity mismatch');
});

test('os: the well-known os label comes from facts.os.platform', (t) => {
  const linux = { selector: { matchExpressions: [{ key: wellKnownLabels.os, operator: 'In', values: ['linux'] }] } };
  t.is(why([device('a', { platform: 'windows' })], linux), '0/1 devices fit: 1 os mismatch');
  t.is(why([device('a')], linux), '');
});

test('selector: matchLabels and every operator', (t) => {
  const d = device('a', { labels: { role: 'camera', gen: '3', rev: 'b' } });
  const sel = (matchExpressions: unknown[], matchLabels: Record<string, string> = {}) => ({ selector: { matchLabels, matchExpressions } });
  const fits = (s: Record<string, unknown>) => why([d], s) === '';
  t.true(fits(sel([], { role: 'camera' })));
  t.false(fits(sel([], { role: 'gateway' })));
  t.true(fits(sel([{ key: 'role', operator: 'In', values: ['gateway', 'camera'] }])));
  t.false(fits(sel([{ key: 'role', operator: 'In', values: ['gateway'] }])));
  t.true(fits(sel([{ key: 'role', operator: 'NotIn', values: ['gateway'] }])));
  t.false(fits(sel([{ key: 'role', operator: 'NotIn', values: ['camera'] }])));
  t.true(fits(sel([{ key: 'absent', operator: 'NotIn', values: ['x'] }])), 'NotIn matches an absent label, as in Kubernetes');
  t.true(fits(sel([{ key: 'role', operator: 'Exists' }])));
  t.false(fits(sel([{ key: 'absent', operator: 'Exists' }])));
  t.true(fits(sel([{ key: 'absent', operator: 'DoesNotExist' }])));
  t.false(fits(sel([{ key: 'role', operator: 'DoesNotExist' }])));
  t.true(fits(sel([{ key: 'gen', operator: 'Gt', values: ['2'] }])));
  t.false(fits(sel([{ key: 'gen', operator: 'Gt', values: ['3'] }])));
  t.true(fits(sel([{ key: 'gen', operator: 'Lt', values: ['4'] }])));
  t.false(fits(sel([{ key: 'gen', operator: 'Lt', values: ['3'] }])));
  t.false(fits(sel([{ key: 'rev', operator: 'Gt', values: ['0'] }])), 'Gt on a non-integer label does not match');
  t.false(fits(sel([{ key: 'absent', operator: 'Lt', values: ['9'] }])));
  t.is(why([d], sel([], { role: 'gateway' })), '0/1 devices fit: 1 selector mismatch');
});

test('required affinity: terms are ORed, requirements within a term ANDed', (t) => {
  const d = device('a', { labels: { site: 'plant-1', line: '4' } });
  const req = (terms: unknown[][]) => ({ affinity: { required: terms.map((matchExpressions) => ({ matchExpressions })) } });
  const site = (v: string) => ({ key: 'site', operator: 'In', values: [v] });
  const line = { key: 'line', operator: 'Gt', values: ['5'] };
  t.is(why([d], req([[site('plant-1'), line]])), '0/1 devices fit: 1 required affinity mismatch');
  t.is(why([d], req([[site('plant-1'), line], [site('plant-1')]])), '');
  t.is(why([d], req([[site('plant-2')], [site('plant-1')]])), '');
});

test('taints: NoSchedule and NoExecute repel unless tolerated; PreferNoSchedule never filters', (t) => {
  const taint = (key: string, effect: string, value = '') => ({ key, value, effect }) as never;
  const tainted = (effect: string) => [device('a', { taints: [taint('dedicated', effect, 'vision')] })];
  t.is(why(tainted('NoSchedule')), '0/1 devices fit: 1 taint dedicated not tolerated');
  t.is(why(tainted('NoExecute')), '0/1 devices fit: 1 taint dedicated not tolerated');
  t.is(why(tainted('PreferNoSchedule')), '');
  const tol = (toleration: Record<string, unknown>) => ({ tolerations: [toleration] });
  t.is(why(tainted('NoSchedule'), tol({ key: 'dedicated', value: 'vision' })), '', 'Equal with the same value');
  t.not(why(tainted('NoSchedule'), tol({ key: 'dedicated', value: 'audio' })), '', 'Equal with another value');
  t.is(why(tainted('NoSchedule'), tol({ key: 'dedicated', operator: 'Exists' })), '');
  t.is(why(tainted('NoSchedule'), tol({ operator: 'Exists' })), '', 'empty key + Exists tolerates everything');
  t.not(why(tainted('NoSchedule'), tol({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' })), '', 'effect must match');
  t.is(why(tainted('NoExecute'), tol({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' })), '');
});

test('taints: a NoExecute toleration with tolerationSeconds expires at addedAt + seconds', (t) => {
  const at = (secondsAgo: number) => [
    device('a', { taints: [{ key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute', addedAt: iso(now - secondsAgo * 1000) }] }),
  ];
  const tolerate60 = { tolerations: [{ key: wellKnownTaints.unreachable, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }] };
  t.is(why(at(59), tolerate60), '');
  t.is(why(at(60), tolerate60), '0/1 devices fit: 1 taint edgepilot.io/unreachable not tolerated');
  t.is(why(at(3600), tolerate60), '0/1 devices fit: 1 taint edgepilot.io/unreachable not tolerated');
  const noAddedAt = [device('a', { taints: [{ key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute' }] })];
  t.is(why(noAddedAt, tolerate60), '', 'without addedAt the clock starts now');
});

test('host ports: one binding per port and protocol per device', (t) => {
  const web = { template: containerTemplate({ ports: [{ containerPort: 80, hostPort: 8080 }] }) };
  const busy = (protocol: 'TCP' | 'UDP') => [device('a', { instances: [instance('x', 'other', { hostPorts: [{ port: 8080, protocol }] })] })];
  t.is(why(busy('TCP'), web), '0/1 devices fit: 1 host port 8080/TCP in use');
  t.is(why(busy('UDP'), web), '');
  const r = place([device('a')], web, 2);
  t.is(r.placements.length, 1);
  t.is(r.unplaced?.summary, '0/1 devices fit: 1 host port 8080/TCP in use');
});

test('cpu and memory: requests against facts − reserve − placed', (t) => {
  const req = (cpu: string, memory: string) => ({ template: containerTemplate({ resources: { requests: { cpu, memory } } }) });
  const small = device('a', { cores: 1, memory: 1 * GiB });
  t.is(why([small], req('1100m', '64Mi')), '0/1 devices fit: 1 insufficient cpu');
  t.is(why([small], req('500m', '2Gi')), '0/1 devices fit: 1 insufficient memory');
  t.is(why([small], req('1', '1Gi')), '', 'exactly allocatable fits');
  const used = device('a', { cores: 1, memory: 1 * GiB, instances: [instance('x', 'other', { cpuMillis: 600, memoryBytes: 100 * MiB })] });
  t.is(why([used], req('500m', '64Mi')), '0/1 devices fit: 1 insufficient cpu');
  const reserve = { ...options, reserve: { cpuMillis: 0, memoryBytes: 512 * MiB, diskBytes: 0 } };
  const r = placeReplicas([small], request('web', req('100m', '600Mi'), 1), reserve);
  t.is(r.unplaced?.summary, '0/1 devices fit: 1 insufficient memory');
  const overcommitted = device('a', { cores: 1, instances: [instance('x', 'other', { cpuMillis: 5000 })] });
  t.is(why([overcommitted], {}), '', 'a zero request always fits, as in Kubernetes');
});

test('disk: free disk below the reserve takes nothing', (t) => {
  const r = placeReplicas([device('a', { diskFree: 100 * MiB })], request('web', {}, 1), { now, reserve: { diskBytes: 256 * MiB } });
  t.is(r.unplaced?.summary, '0/1 devices fit: 1 insufficient disk');
  t.is(placeReplicas([device('a', { diskFree: 300 * MiB })], request('web', {}, 1), { now, reserve: { diskBytes: 256 * MiB } }).unplaced, undefined);
});

test('device resources: counted and exclusive', (t) => {
  const npu = { template: containerTemplate({ resources: { devices: { 'rk3588.npu': 1 } } }) };
  t.is(why([device('a')], npu), '0/1 devices fit: 1 insufficient rk3588.npu');
  const r = place([device('a', { resources: { 'rk3588.npu': 1 } })], npu, 2);
  t.is(r.placements.length, 1);
  t.is(r.unplaced?.summary, '0/1 devices fit: 1 insufficient rk3588.npu');
  const held = device('a', { resources: { 'rk3588.npu': 3 }, instances: [instance('x', 'other', { deviceResources: { 'rk3588.npu': 2 } })] });
  t.is(place([held], npu, 3).placements.length, 1);
});

test('peripherals: an stm32f103 workload lands only on the device with one attached', (t) => {
  const devices = [
    device('a'),
    device('b', { mcus: [{ id: 'm1', model: 'stc89c52' }] }),
    device('c', { mcus: [{ id: 'm2', model: 'stm32f103' }] }),
    device('d', { mcus: [{ id: 'm3', model: 'stm32f103', online: false }] }),
  ];
  const flasher = { template: containerTemplate({ peripherals: [{ kind: 'mcu', mcu: 'stm32f103' }] }) };
  const r = place(devices, flasher, 2);
  t.deepEqual(r.placements, [{ deviceId: 'c', peripherals: [{ kind: 'mcu', mcuId: 'm2', exclusive: true }] }]);
  t.is(r.unplaced?.summary, '0/4 devices fit: 4 no free stm32f103 MCU');
  const anyMcu = { template: containerTemplate({ peripherals: [{ kind: 'mcu' }] }) };
  t.is(why([device('a')], anyMcu), '0/1 devices fit: 1 no free MCU');
});

test('peripherals: exclusive and shared claims; a specific model is not wasted on "any MCU"', (t) => {
  const claimed = device('a', {
    mcus: [{ id: 'm1', model: 'stm32f103' }],
    instances: [instance('x', 'other', { peripherals: [{ kind: 'mcu', mcuId: 'm1', exclusive: false }] })],
  });
  const want = (exclusive: boolean) => ({ template: containerTemplate({ peripherals: [{ kind: 'mcu', mcu: 'stm32f103', exclusive }] }) });
  t.is(why([claimed], want(true)), '0/1 devices fit: 1 no free stm32f103 MCU');
  t.is(why([claimed], want(false)), '', 'shared joins shared');
  const both = device('a', { mcus: [{ id: 'm1', model: 'stc89c52' }, { id: 'm2', model: 'stm32f103' }] });
  const r = place([both], { template: containerTemplate({ peripherals: [{ kind: 'mcu' }, { kind: 'mcu', mcu: 'stm32f103' }] }) }, 1);
  t.deepEqual(r.placements[0]?.peripherals.map((p) => (p.kind === 'mcu' ? p.mcuId : p.path)), ['m2', 'm1']);
});

test('peripherals: serial needs a free port not occupied by an MCU', (t) => {
  const serial = { template: containerTemplate({ peripherals: [{ kind: 'serial' }] }) };
  const onlyMcuPort = device('a', { serialPorts: ['/dev/ttyUSB0'], mcus: [{ id: 'm1', port: '/dev/ttyUSB0' }] });
  t.is(why([onlyMcuPort], serial), '0/1 devices fit: 1 no free serial port');
  const r = place([device('a', { serialPorts: ['/dev/ttyS1', '/dev/ttyS0'] })], serial, 3);
  t.deepEqual(r.placements.map((p) => p.peripherals[0]), [
    { kind: 'serial', path: '/dev/ttyS0', exclusive: true },
    { kind: 'serial', path: '/dev/ttyS1', exclusive: true },
  ]);
  t.is(r.unplaced?.summary, '0/1 devices fit: 1 no free serial port');
});

test('serialDevices: only devices whose facts list every requested path (MCU ports count as listed)', (t) => {
  const passThrough = { template: containerTemplate({ serialDevices: ['/dev/ttyUSB0', '/dev/ttyACM0'] }) };
  const devices = [
    device('none'),
    device('one', { serialPorts: ['/dev/ttyUSB0'] }),
    device('other', { serialPorts: ['/dev/ttyUSB1'] }),
    device('both', { serialPorts: ['/dev/ttyACM0'], mcus: [{ id: 'm1', port: '/dev/ttyUSB0' }] }),
  ];
  const r = place(devices, passThrough, 2);
  t.deepEqual(r.placements.map((p) => p.deviceId), ['both', 'both'], 'a pass-through port is not a claim: two replicas may share it');
  t.is(why(devices.slice(0, 3), passThrough), '0/3 devices fit: 2 missing serial device /dev/ttyUSB0, 1 missing serial device /dev/ttyACM0');
  const e = explainDevice(devices, request('web', passThrough, 1), 'one', options);
  t.deepEqual(e?.filters.filter((f) => !f.passed).map((f) => `${f.filter}: ${f.reason}`), ['serialDevices: missing serial device /dev/ttyACM0']);
});

test('topology spread DoNotSchedule: a device without the label is filtered', (t) => {
  const hard = { topologySpread: [{ topologyKey: 'topology.edgepilot.io/zone', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' }] };
  t.is(why([device('a')], hard), '0/1 devices fit: 1 missing topology label topology.edgepilot.io/zone');
});

test('summary: each device counted once, under its first failing filter; largest cause first', (t) => {
  const mem = { template: containerTemplate({ resources: { requests: { memory: '2Gi' } } }), ...arm64Only };
  const unreachable = { key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute' as const, addedAt: iso(now) };
  const devices = [
    device('m1', { memory: GiB }),
    device('m2', { memory: GiB }),
    device('m3', { memory: GiB }),
    device('x1', { arch: 'amd64', memory: GiB }),
    device('x2', { arch: 'armv7' }),
    device('t1', { taints: [unreachable], memory: GiB }),
    device('o1', { online: false, arch: 'amd64' }),
  ];
  t.is(
    why(devices, mem),
    '0/7 devices fit: 3 insufficient memory, 2 arch mismatch, 1 device offline, 1 taint edgepilot.io/unreachable not tolerated',
  );
});

test('explainDevice lists every filter, not only the first failure', (t) => {
  const devices = [device('a', { arch: 'amd64', unschedulable: true }), device('b')];
  const e = explainDevice(devices, request('web', arm64Only, 1), 'a', options);
  t.false(e?.fits);
  t.deepEqual(e?.filters.filter((f) => !f.passed).map((f) => `${f.filter}: ${f.reason}`), ['cordon: device cordoned', 'arch: arch mismatch']);
  t.is(e?.summary, 'a does not fit web: device cordoned; arch mismatch');
  t.is(explainDevice(devices, request('web', arm64Only, 1), 'b', options)?.summary, 'b would get the next replica of web (score 600, best of 1)');
  t.is(explainDevice(devices, request('web', arm64Only, 1), 'nope', options), undefined);
});
