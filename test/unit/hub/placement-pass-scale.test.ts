// runPlacementPass at fleet scale, with a fixed clock: the work a pass does per device must not
// grow with the fleet (issue 11: `occupancy()` was computed once per device, so a pass over 8,000
// devices took a minute). The work is counted, not timed: every property read of a device record
// and of a published desired document goes through a counting proxy.
import test from 'ava';
import { workloadSpecSchema, type DesiredState, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { runPlacementPass, type PlacementPassInput } from '../../../src/hub/workloads/placement-pass.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const now = Date.parse('2026-01-10T08:00:00Z');
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: new Date(now - 60_000).toISOString() };
const template = { runtime: 'process', command: ['sleep', '100'], resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 20 } } };
const ZONE = 'topology.edgepilot.io/zone';

function workload(name: string, spec: Record<string, unknown>): WorkloadRecord {
  return { name, labels: {}, annotations: {}, spec: workloadSpecSchema.parse({ template, ...spec }), revision: `rev-${name}`, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };
}

function deviceRecord(index: number): DeviceRecord {
  const id = `dev-${index}`;
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels: { [ZONE]: `zone-${index % 4}` },
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: new Date(now - 3_600_000).toISOString(),
    joinedWithToken: 'tok',
    status: online,
    facts: gatewayFacts({ hostname: id }),
  };
}

/** Wraps every object reachable from `value` so that each property read adds one to `reads.count`. */
function counted<T extends object>(value: T, reads: { count: number }): T {
  const cache = new WeakMap<object, object>();
  const wrap = (target: object): object => {
    const known = cache.get(target);
    if (known) return known;
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        reads.count += 1;
        const v = Reflect.get(t, key, receiver) as unknown;
        return typeof v === 'object' && v !== null ? wrap(v) : v;
      },
    });
    cache.set(target, proxy);
    return proxy;
  };
  return wrap(value) as T;
}

/**
 * A fleet in steady state: every device runs the `replicas: all` workload (it was sent it), half of
 * the devices hold a replica of a spread workload, and a new workload asks for more replicas.
 */
function steadyFleet(devices: number, reads: { count: number }): PlacementPassInput {
  const records = Array.from({ length: devices }, (_, i) => deviceRecord(i));
  const workloads = [
    workload('agent-helper', { replicas: 'all' }),
    workload('spread', { replicas: devices / 2, topologySpread: [{ topologyKey: ZONE, maxSkew: 1 }] }),
    workload('new', { replicas: 20 }),
  ];
  const placements = new Map<string, PlacementRecord>([['spread', { workload: 'spread', replicas: Object.fromEntries(Array.from({ length: devices / 2 }, (_, o) => [String(o), `dev-${o * 2}`])) }]]);
  const published = new Map<string, DesiredState>(
    records.map((d, i) => {
      const instances = [{ id: 'agent-helper', workload: 'agent-helper', revision: 'rev-agent-helper', template: workloads[0]!.spec.template }];
      if (i % 2 === 0) instances.push({ id: `spread-${i / 2}`, workload: 'spread', revision: 'rev-spread', template: workloads[1]!.spec.template });
      return [d.id, { generation: 3, issuedAt: new Date(now).toISOString(), instances }];
    }),
  );
  return {
    now,
    devices: records.map((d) => counted(d, reads)),
    workloads,
    placements,
    published: new Map([...published].map(([id, doc]) => [id, counted(doc, reads)])),
    ready: new Set(),
  };
}

function readsPerDevice(devices: number): { perDevice: number; result: ReturnType<typeof runPlacementPass> } {
  const reads = { count: 0 };
  const input = steadyFleet(devices, reads);
  reads.count = 0;
  const result = runPlacementPass(input);
  return { perDevice: reads.count / devices, result };
}

test('the reads a pass makes of device records and desired documents grow linearly with the fleet (4× the devices, not 16× the reads)', (t) => {
  const small = readsPerDevice(500);
  const large = readsPerDevice(2000);
  t.log(`reads per device: ${small.perDevice.toFixed(1)} at 500 devices, ${large.perDevice.toFixed(1)} at 2,000`);
  // Linear: the same per device at both sizes. The per-device occupancy bug gave ~4× (reads ∝ devices²).
  t.true(large.perDevice <= small.perDevice * 1.25, `reads per device went from ${small.perDevice.toFixed(1)} to ${large.perDevice.toFixed(1)}`);
  // The pass still did its job at scale: every device keeps the replicas: all instance, the new
  // workload got its 20 replicas, nothing moved.
  t.is(large.result.everyDevice.get('agent-helper')?.size, 2000);
  t.is(Object.keys(large.result.placements.get('new')?.replicas ?? {}).length, 20);
  t.is(Object.keys(large.result.placements.get('spread')?.replicas ?? {}).length, 1000);
  t.deepEqual(large.result.events.filter((e) => e.event.reason !== 'Scheduled'), []);
});
