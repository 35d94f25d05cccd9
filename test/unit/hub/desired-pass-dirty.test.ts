// The desired pass does work for what changed, not for the fleet (issue 11: ≤ 100 ms per pass at
// 20,000 devices). Counted, not timed, on a lowdb store (the store whose read-only snapshots keep
// their identity while nothing is written), 200 devices in steady state: reads of the
// `instances` of published documents (the old pass compared every device's document on every
// pass, 200 reads), occupancy and wanted lists built again, scheduler snapshots built.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { workloadSpecSchema, type DesiredState, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import type { HubStore } from '../../../src/hub/store/repository.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { DesiredStateController } from '../../../src/hub/workloads/desired-controller.js';
import { templateRevision } from '../../../src/hub/workloads/revision.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const now = new Date('2026-05-04T12:00:00Z');
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: '2026-05-04T11:00:00Z' };

function device(i: number): DeviceRecord {
  const id = `dev-${String(i).padStart(3, '0')}`;
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: { zone: `z${i % 4}` }, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: '2026-05-01T00:00:00Z', joinedWithToken: 't', status: online, facts: gatewayFacts({ hostname: id, memory: { totalBytes: 2 * 2 ** 30 } }) };
}

function workload(name: string, spec: Record<string, unknown>, env: Record<string, string> = {}): WorkloadRecord {
  const template = { runtime: 'process', command: ['sleep', '100'], env, resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 20 } } };
  const parsed = workloadSpecSchema.parse({ template, ...spec });
  return { name, labels: {}, annotations: {}, spec: parsed, revision: templateRevision(parsed.template), createdAt: '2026-05-01T00:00:00Z', updatedAt: '2026-05-01T00:00:00Z' };
}

/** The store, with its published documents seen through proxies that count reads of `instances` (same proxy for the same document). */
function counting(store: HubStore): { store: HubStore; reads: { instances: number } } {
  const reads = { instances: 0 };
  const docs = new WeakMap<object, DesiredState>();
  const maps = new WeakMap<object, ReadonlyMap<string, DesiredState>>();
  const proxy = (doc: DesiredState): DesiredState => {
    let p = docs.get(doc);
    if (!p) docs.set(doc, (p = new Proxy(doc, { get: (target, key, receiver) => (key === 'instances' && (reads.instances += 1), Reflect.get(target, key, receiver)) })));
    return p;
  };
  const deviceState = Object.create(store.deviceState) as HubStore['deviceState'];
  deviceState.desiredSnapshot = async () => {
    const real = await store.deviceState.desiredSnapshot();
    let view = maps.get(real);
    if (!view) maps.set(real, (view = new Map([...real].map(([id, doc]) => [id, proxy(doc as DesiredState)]))));
    return view;
  };
  return { store: Object.assign(Object.create(store) as HubStore, { deviceState }), reads };
}

test('a pass with nothing changed reads one document; a template change of a 5-replica workload reads the documents of its devices, not the fleet', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ep-dirty-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const real = await openLowdbStore(dir, () => undefined);
  t.teardown(() => real.close());
  for (let i = 0; i < 200; i++) await real.devices.put(device(i), 'lazy');
  await real.workloads.putAll([workload('helper', { replicas: 'all' }), workload('spread', { replicas: 150, topologySpread: [{ topologyKey: 'zone', maxSkew: 1 }] }), workload('small', { replicas: 5 })]);
  const { store, reads } = counting(real);
  let sent = 0;
  const controller = new DesiredStateController({ store, publish: async () => void (sent += 1), now: () => now, log: createLogger('desired', 'warn') });
  t.teardown(() => controller.stop());

  await controller.reconcile();
  t.is(sent, 200, 'every device gets its first document');
  await controller.reconcile();
  t.is(sent, 200, 'the pass after it changes nothing');

  reads.instances = 0;
  await controller.reconcile();
  t.true(reads.instances <= 1, `nothing changed: ${reads.instances} document read (whether any instance exists at all; the whole-fleet pass read all 200)`);
  t.is(sent, 200);

  const small = (await real.placements.get('small'))?.replicas ?? {};
  const hosts = new Set(Object.values(small));
  await real.workloads.putAll([workload('small', { replicas: 5 }, { ROUND: '1' })]);
  reads.instances = 0;
  let looked = controller.documents.lookedAt;
  await controller.reconcile();
  t.is(sent, 200 + hosts.size, 'the devices of the changed workload get new documents');
  t.true(reads.instances <= 2 * hosts.size + 1, `documents read: ${reads.instances} (5 devices changed, 200 in the fleet)`);
  t.is(controller.documents.lookedAt - looked, hosts.size, 'next documents worked out for the devices of the changed workload only');
  // The pass after it sees the 5 new documents: it looks at those, not at the fleet.
  looked = controller.documents.lookedAt;
  await controller.reconcile();
  t.is(sent, 200 + hosts.size);
  t.is(controller.documents.lookedAt - looked, hosts.size, 'the new documents are compared with their lists once');

  // Equal to a pass without any state kept: a new controller over the same store finds nothing to send.
  let fresh = 0;
  const check = new DesiredStateController({ store: real, publish: async () => void (fresh += 1), now: () => now, log: createLogger('desired', 'warn') });
  await check.reconcile();
  check.stop();
  t.is(fresh, 0, 'a controller without kept state decides the same documents');
});
