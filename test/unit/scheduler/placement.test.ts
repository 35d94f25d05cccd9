// The placement engine as a whole: determinism, batch behaviour, and the incremental session
// agreeing with the reference (full re-filter-and-score per replica) on random fleets.
import test from 'ava';
import { wellKnownLabels, wellKnownTaints } from '../../../src/protocol/index.js';
import type { DeviceSnapshot, PlacementRequest } from '../../../src/scheduler/index.js';
import { FleetState, placeReplicas, referencePlace } from '../../../src/scheduler/index.js';
import { GiB, containerTemplate, device, instance, iso, now, options, place, prng, request, spec } from './fixtures.js';

function randomFleet(seed: number, size: number): DeviceSnapshot[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  return Array.from({ length: size }, (_, i) => {
    const labels: Record<string, string> = {};
    if (rnd() < 0.85) labels[wellKnownLabels.zone] = pick(['z1', 'z2', 'z3']);
    if (rnd() < 0.7) labels['topology.edgepilot.io/site'] = pick(['s1', 's2', 's3', 's4', 's5']);
    if (rnd() < 0.5) labels.role = pick(['camera', 'gateway', 'hmi']);
    if (rnd() < 0.3) labels.ssd = 'true';
    const taints = [];
    if (rnd() < 0.1) taints.push({ key: 'dedicated', value: 'vision', effect: 'NoSchedule' as const });
    if (rnd() < 0.1) taints.push({ key: 'battery', value: 'low', effect: 'PreferNoSchedule' as const });
    if (rnd() < 0.05) taints.push({ key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute' as const, addedAt: iso(now - rnd() * 600_000) });
    const instances = rnd() < 0.3 ? [instance(`old-${i}`, pick(['web', 'agent', 'other']), { cpuMillis: 250, memoryBytes: 128 * 2 ** 20 })] : [];
    return device(`dev-${String(Math.floor(rnd() * 1e6)).padStart(6, '0')}-${i}`, {
      arch: pick(['arm64', 'armv7', 'amd64'] as const),
      cores: pick([1, 2, 4, 8]),
      memory: pick([0.5, 1, 2, 4]) * GiB,
      labels,
      taints,
      unschedulable: rnd() < 0.05,
      online: rnd() > 0.05,
      mcus: rnd() < 0.2 ? [{ id: `m${i}`, model: pick(['stm32f103', 'stc89c52']) }] : [],
      serialPorts: rnd() < 0.3 ? ['/dev/ttyS0'] : [],
      resources: rnd() < 0.2 ? { 'rk3588.npu': pick([1, 3]) } : {},
      images: rnd() < 0.3 ? ['app:1'] : [],
      instances,
    });
  });
}

function randomRequests(seed: number): PlacementRequest[] {
  const rnd = prng(seed * 7919);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  return ['web', 'agent', 'npu', 'flash'].map((name) => {
    const input: Record<string, unknown> = {
      scoring: pick(['LeastAllocated', 'LeastAllocated', 'MostAllocated']),
      template: containerTemplate({
        resources: {
          requests: { cpu: pick(['0', '100m', '500m', '1']), memory: pick(['0', '64Mi', '256Mi']) },
          devices: name === 'npu' ? { 'rk3588.npu': 1 } : {},
        },
        ports: rnd() < 0.2 ? [{ containerPort: 80, hostPort: 8080 }] : [],
        peripherals: name === 'flash' ? [{ kind: pick(['mcu', 'serial']), ...(rnd() < 0.5 ? { mcu: 'stm32f103' } : {}) }] : [],
      }),
    };
    if (rnd() < 0.5) input.selector = { matchExpressions: [{ key: wellKnownLabels.arch, operator: 'In', values: [pick(['arm64', 'amd64']), 'armv7'] }] };
    if (rnd() < 0.4) input.tolerations = [{ key: 'dedicated', operator: 'Exists' }, { key: wellKnownTaints.unreachable, operator: 'Exists', tolerationSeconds: 300 }];
    if (rnd() < 0.4) input.affinity = { preferred: [{ weight: 30, preference: { matchExpressions: [{ key: 'ssd', operator: 'Exists' }] } }] };
    const spread = [];
    if (rnd() < 0.5) spread.push({ topologyKey: wellKnownLabels.zone, maxSkew: pick([1, 2]), whenUnsatisfiable: pick(['DoNotSchedule', 'ScheduleAnyway']) });
    if (rnd() < 0.4) spread.push({ topologyKey: 'topology.edgepilot.io/site', maxSkew: 1, whenUnsatisfiable: pick(['DoNotSchedule', 'ScheduleAnyway']) });
    if (rnd() < 0.3) spread.push({ topologyKey: wellKnownLabels.hostname, maxSkew: pick([1, 2]), whenUnsatisfiable: pick(['DoNotSchedule', 'ScheduleAnyway']) });
    input.topologySpread = spread;
    return request(name, input, 5 + Math.floor(rnd() * 30));
  });
}

test('incremental placement equals the reference scheduler on random fleets', (t) => {
  let placements = 0;
  let unplaced = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const devices = randomFleet(seed, 30 + (seed % 5) * 10);
    const fast = new FleetState(devices, options);
    const slow = new FleetState(devices, options);
    for (const req of randomRequests(seed)) {
      const a = fast.place(req);
      const b = referencePlace(slow, req);
      t.deepEqual(a, b, `seed ${seed}, workload ${req.name}`);
      placements += a.placements.length;
      unplaced += a.unplaced?.replicas ?? 0;
    }
  }
  // The random cases must exercise both outcomes to mean anything.
  t.true(placements > 1000, `placements ${placements}`);
  t.true(unplaced > 100, `unplaced ${unplaced}`);
});

test('deterministic: same input, same output; shuffled device order, same output', (t) => {
  const devices = randomFleet(99, 80);
  const [req] = randomRequests(3);
  if (!req) return t.fail();
  const first = placeReplicas(devices, req, options);
  t.deepEqual(placeReplicas(devices, req, options), first);
  const rnd = prng(5);
  for (let k = 0; k < 5; k++) {
    const shuffled = devices.map((d) => ({ d, r: rnd() })).sort((x, y) => x.r - y.r).map((x) => x.d);
    t.deepEqual(placeReplicas(shuffled, req, options), first);
  }
});

test('ties are broken by device id', (t) => {
  const devices = ['c', 'a', 'b'].map((id) => device(id));
  t.is(place(devices, { scoring: 'MostAllocated' }, 1).placements[0]?.deviceId, 'a');
});

test('a batch: later workloads see the replicas placed before them', (t) => {
  const fleet = new FleetState([device('a', { cores: 2 }), device('b', { cores: 2 })], options);
  const big = { template: containerTemplate({ resources: { requests: { cpu: '2' } } }) };
  t.is(fleet.place(request('first', big, 2)).placements.length, 2);
  const second = fleet.place(request('second', big, 1));
  t.is(second.unplaced?.summary, '0/2 devices fit: 2 insufficient cpu');
  const port = { template: containerTemplate({ ports: [{ containerPort: 1, hostPort: 9000 }] }) };
  const fleet2 = new FleetState([device('a')], options);
  fleet2.place(request('one', port, 1));
  t.is(fleet2.place(request('two', port, 1)).unplaced?.summary, '0/1 devices fit: 1 host port 9000/TCP in use');
});

test('a session places one replica per step, the same as place()', (t) => {
  const devices = randomFleet(7, 60);
  for (const req of randomRequests(7)) {
    const session = new FleetState(devices, options).begin(req);
    const steps = [];
    for (let p = session.next(); p; p = session.next()) steps.push(p);
    t.deepEqual(steps, placeReplicas(devices, req, options).placements);
  }
});

test('edge cases: zero replicas, empty fleet, duplicate ids', (t) => {
  t.deepEqual(place([device('a')], {}, 0), { workload: 'web', placements: [], unplaced: undefined });
  t.is(place([], {}, 2).unplaced?.summary, '0/0 devices fit: no devices');
  t.throws(() => place([device('a'), device('a')], {}, 1), { message: /duplicate device id/ });
});

test('the snapshot is not modified', (t) => {
  const devices = [device('a'), device('b')];
  const before = JSON.stringify(devices);
  placeReplicas(devices, { name: 'web', spec: spec(), replicas: 3 }, options);
  t.is(JSON.stringify(devices), before);
});
