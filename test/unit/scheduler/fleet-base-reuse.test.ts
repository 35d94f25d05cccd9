// A FleetState built with a CompiledDeviceCache patches the last fleet's order, index, compiled
// devices and label index where a device's snapshot changed (issue 11: a pass at 20,000 devices
// sorted, indexed and looked up every device again). Such a fleet must decide exactly what a fleet
// built from scratch decides, after any sequence of changes: a device's instances, its labels,
// the list in another order, a device added or removed. And the fleets must not share usage.
import test from 'ava';
import fc from 'fast-check';
import { CompiledDeviceCache, FleetState, planEveryDeviceOnFleet, type DeviceSnapshot } from '../../../src/scheduler/index.js';
import { device, GiB, instance, options, spec } from './fixtures.js';

const ids = ['d3', 'd1', 'd7', 'd0', 'd5', 'd2', 'd9', 'd4'];
const change = fc.oneof(
  fc.record({ kind: fc.constant('instances' as const), d: fc.nat(7), n: fc.nat(3) }),
  fc.record({ kind: fc.constant('labels' as const), d: fc.nat(7), zone: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ kind: fc.constant('order' as const), seed: fc.nat() }),
  fc.record({ kind: fc.constant('remove' as const), d: fc.nat(7) }),
  fc.record({ kind: fc.constant('add' as const), d: fc.nat(7) }),
  fc.record({ kind: fc.constant('same' as const) }),
);

test('fleets patched from the last one place and plan exactly like fleets built from scratch', (t) => {
  fc.assert(
    fc.property(fc.array(change, { minLength: 1, maxLength: 15 }), (changes) => {
      let fleet: DeviceSnapshot[] = ids.map((id, i) => device(id, { memory: 2 * GiB, zone: ['a', 'b', 'c'][i % 3] as string }));
      const cache = new CompiledDeviceCache();
      for (const c of changes) {
        const id = ids[('d' in c ? c.d : 0) % ids.length] as string;
        const at = fleet.findIndex((d) => d.id === id);
        if (c.kind === 'instances' && at >= 0) {
          const before = fleet[at] as DeviceSnapshot;
          fleet = fleet.map((d, i) => (i === at ? { ...before, instances: Array.from({ length: c.n }, (_, k) => instance(`x-${k}`, 'x', { memoryBytes: GiB / 2 })) } : d));
        }
        if (c.kind === 'labels' && at >= 0) fleet = fleet.map((d, i) => (i === at ? { ...d, labels: { ...d.labels, 'topology.edgepilot.io/zone': c.zone } } : d));
        if (c.kind === 'order') fleet = [...fleet].sort((a, b) => ((a.id.charCodeAt(1) * (c.seed | 1)) % 11) - ((b.id.charCodeAt(1) * (c.seed | 1)) % 11));
        if (c.kind === 'remove' && at >= 0 && fleet.length > 1) fleet = fleet.filter((_, i) => i !== at);
        if (c.kind === 'add' && at < 0) fleet = [...fleet, device(id, { memory: 2 * GiB, zone: 'a' })];
        const request = { name: 'web', spec: spec({ template: { runtime: 'process', command: ['x'], resources: { requests: { memory: '512Mi' } } }, topologySpread: [{ topologyKey: 'topology.edgepilot.io/zone', maxSkew: 1 }] }), replicas: 5 };
        const kept = new FleetState(fleet, options, cache);
        const fresh = new FleetState(fleet, options);
        t.deepEqual(kept.devices, fresh.devices);
        t.deepEqual(kept.usage, fresh.usage);
        t.deepEqual(planEveryDeviceOnFleet(kept, 'helper', spec({ replicas: 'all', template: { runtime: 'process', command: ['x'], resources: { requests: { memory: '1Gi' } } } })), planEveryDeviceOnFleet(fresh, 'helper', spec({ replicas: 'all', template: { runtime: 'process', command: ['x'], resources: { requests: { memory: '1Gi' } } } })));
        t.deepEqual(kept.place(request), fresh.place(request));
        // What this fleet placed stays in it: the next fleet from the same snapshots starts from what they hold.
        t.deepEqual(new FleetState(fleet, options, cache).usage, new FleetState(fleet, options).usage);
      }
    }),
    { numRuns: 150 },
  );
});

test('a fleet from the same devices with one device holding new instances compiles nothing again', (t) => {
  const cache = new CompiledDeviceCache();
  const fleet = Array.from({ length: 50 }, (_, i) => device(`d${i}`, { memory: 2 * GiB }));
  new FleetState(fleet, options, cache);
  t.is(cache.compiles, 50);
  const next = fleet.map((d, i) => (i === 7 ? { ...d, instances: [instance('x-0', 'x')] } : d));
  const kept = new FleetState(next, options, cache);
  t.is(cache.compiles, 50, 'only the instances changed: the compiled device is the same');
  t.is(kept.indexOf('d7'), new FleetState(next, options).indexOf('d7'));
});
