// The state the desired pass keeps between passes (issue 11: a pass incremental by construction)
// must give what a computation from scratch gives, after any sequence of the changes the store
// makes: a workload's new revision, a placement replaced (replicas moved, added, removed), a
// published document replaced, a device added or removed, a workload added or deleted, a
// workload's kind changed. Occupancy (PlacementPassCache.occupancy) against `occupancy`, and
// wanted lists (WantedLists) against `buildDesiredInstances`, list by list and in order.
import test from 'ava';
import fc from 'fast-check';
import { workloadSpecSchema, type DesiredState, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { occupancy, PlacementPassCache } from '../../../src/hub/workloads/occupancy.js';
import { buildDesiredInstances, instanceId, WantedLists } from '../../../src/hub/workloads/desired-documents.js';

const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: '2026-01-10T07:00:00Z' };

function device(i: number): DeviceRecord {
  const id = `d${i}`;
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: '2026-01-01T00:00:00Z', joinedWithToken: 't', status: online };
}

function workload(name: string, replicas: number | 'all', revision: number): WorkloadRecord {
  const spec = workloadSpecSchema.parse({ replicas, template: { runtime: 'process', command: ['sleep', String(revision)] } });
  return { name, labels: {}, annotations: {}, spec, revision: `${name}-r${revision}`, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };
}

const names = ['a', 'b', 'c', 'd'];
const change = fc.oneof(
  fc.record({ kind: fc.constant('revision' as const), w: fc.nat(3) }),
  fc.record({ kind: fc.constant('place' as const), w: fc.nat(3), replicas: fc.array(fc.tuple(fc.nat(5), fc.nat(9)), { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('publish' as const), d: fc.nat(9), every: fc.subarray(names) }),
  fc.record({ kind: fc.constant('devices' as const), present: fc.subarray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { minLength: 1 }) }),
  fc.record({ kind: fc.constant('kind' as const), w: fc.nat(3), all: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), w: fc.nat(3) }),
  fc.record({ kind: fc.constant('same' as const) }),
);

test('occupancy and wanted lists kept between passes equal those computed from scratch, after any sequence of changes', (t) => {
  fc.assert(
    fc.property(fc.array(change, { minLength: 1, maxLength: 25 }), (changes) => {
      const revisions = new Map(names.map((n) => [n, 1]));
      const kinds = new Map<string, number | 'all'>(names.map((n, i) => [n, i === 0 ? 'all' : 3]));
      const present = new Set(names);
      const allDevices = Array.from({ length: 10 }, (_, i) => device(i));
      let devices = allDevices.slice(0, 6);
      let placements = new Map<string, PlacementRecord>();
      let published = new Map<string, DesiredState>();
      const cache = new PlacementPassCache();
      const lists = new WantedLists();
      for (const c of changes) {
        if (c.kind === 'revision') revisions.set(names[c.w] as string, (revisions.get(names[c.w] as string) ?? 0) + 1);
        if (c.kind === 'kind') kinds.set(names[c.w] as string, c.all ? 'all' : 3);
        if (c.kind === 'delete') present.delete(names[c.w] as string);
        if (c.kind === 'place') {
          const name = names[c.w] as string;
          present.add(name);
          const replicas: Record<string, string> = {};
          for (const [ordinal, d] of c.replicas) replicas[String(ordinal)] = `d${d}`;
          // A new map and a new record, as the store replaces a placement.
          placements = new Map(placements).set(name, { workload: name, replicas });
        }
        if (c.kind === 'publish') {
          const instances = c.every.map((n) => ({ id: instanceId(n), workload: n, revision: `${n}-r${revisions.get(n) ?? 1}`, template: { runtime: 'process' as const, command: ['sleep'] } }));
          published = new Map(published).set(`d${c.d}`, { generation: 1, issuedAt: '2026-01-10T08:00:00Z', instances } as DesiredState);
        }
        if (c.kind === 'devices') devices = allDevices.filter((_, i) => c.present.includes(i));
        const workloads = names.filter((n) => present.has(n)).map((n) => workload(n, kinds.get(n) ?? 3, revisions.get(n) ?? 1));
        const byName = new Map(workloads.map((w) => [w.name, w]));
        t.deepEqual(cache.occupancy(devices, placements, byName, published), occupancy(devices, placements, byName, published));
        // `replicas: all` devices: those whose document holds the instance (as a placement pass would keep them).
        const everyDevice = new Map(workloads.filter((w) => w.spec.replicas === 'all').map((w) => [w.name, new Set(devices.filter((d) => published.get(d.id)?.instances.some((i) => i.workload === w.name)).map((d) => d.id))]));
        t.deepEqual(lists.build(workloads, placements, everyDevice, devices), buildDesiredInstances(workloads, placements, everyDevice, devices));
      }
    }),
    { numRuns: 300 },
  );
});
