// A rollout's wave pins some devices to a release; only their desired documents change. The
// targeted pass (DesiredStateController.reconcileDevices) redoes exactly those documents without
// a placement pass over the fleet, and gives the same documents a whole pass would. Counted, not
// timed: placement passes run, documents written and published.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { releaseDigest, releaseSpecSchema, topics, workloadSpecSchema, type DesiredState, type DeviceStatus, type ReleasePin, type ReleaseRecord } from '../../../src/protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { DesiredStateController } from '../../../src/hub/workloads/desired-controller.js';
import { templateRevision } from '../../../src/hub/workloads/revision.js';
import { gatewayFacts } from '../../support/facts-fixture.js';
import { MemoryStore } from '../../support/memory-store.js';

const now = new Date('2026-05-04T12:00:00Z');
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: '2026-05-04T11:00:00Z' };
const v1 = { runtime: 'process', command: ['app', '1'], resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 20 } } };
const releaseSpec = releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: { runtime: 'process', command: ['app', '2'] } } });
const release: ReleaseRecord = { name: 'app', labels: {}, annotations: {}, spec: releaseSpec, digest: releaseDigest({ metadata: { name: 'app' }, spec: releaseSpec }), createdAt: now.toISOString() };
const pin: ReleasePin = { release: { name: 'app', version: '2.0.0' }, rollout: 'ro', since: now.toISOString() };

function device(id: string): DeviceRecord {
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: '2026-05-01T00:00:00Z', joinedWithToken: 'tok', status: online, facts: gatewayFacts({ hostname: id }) };
}

function rig(count: number) {
  const store = new MemoryStore();
  const ids = Array.from({ length: count }, (_, i) => `dev-${i}`);
  for (const id of ids) store.devices.set(id, device(id));
  const spec = workloadSpecSchema.parse({ replicas: 'all', template: v1 });
  const app: WorkloadRecord = { name: 'app', labels: {}, annotations: {}, spec, revision: templateRevision(spec.template), createdAt: now.toISOString(), updatedAt: now.toISOString() };
  store.workloads.set('app', app);
  const pins = new Map<string, ReleasePin>();
  const writes: string[] = [];
  store.beforeWrite = (w) => writes.push(`${w.collection} ${w.key}`);
  const published: { topic: string; payload: DesiredState }[] = [];
  const controller = new DesiredStateController({
    store: store.hubStore({
      releasePins: { all: async () => new Map(pins), snapshot: async () => new Map(pins) },
      rollouts: { list: async () => [], snapshot: async () => [] },
      releases: { list: async () => [release] },
      maintenanceWindows: { list: async () => [] },
    }),
    publish: async (topic, payload) => void published.push({ topic, payload: payload as DesiredState }),
    now: () => now,
    log: createLogger('desired', 'error'),
  });
  return { store, ids, pins, writes, published, controller };
}

test('pinning 5 of 200 devices: one targeted pass writes and publishes exactly their 5 documents, with no placement pass', async (t) => {
  const r = rig(200);
  await r.controller.reconcile();
  t.is(r.published.length, 200);
  const placementPasses = r.controller.timings.summary().count;
  r.published.length = 0;
  r.writes.length = 0;
  const wave = r.ids.slice(10, 15);
  for (const id of wave) r.pins.set(id, pin);
  await r.controller.reconcileDevices(wave);
  t.is(r.controller.timings.summary().count, placementPasses, 'no placement pass over the fleet');
  t.deepEqual(r.published.map((p) => p.topic), wave.map((id) => topics.desired(id)));
  t.deepEqual(r.writes, wave.map((id) => `desired ${id}`));
  for (const p of r.published) {
    t.is(p.payload.generation, 2);
    t.deepEqual(p.payload.instances.map((i) => [i.id, i.revision, i.release?.version]), [['app', templateRevision(releaseSpec.workloads['app']!), '2.0.0']]);
  }
});

test('the targeted pass gives the documents a whole pass would, and a whole pass afterwards changes nothing', async (t) => {
  const r = rig(30);
  await r.controller.reconcile();
  const wave = r.ids.slice(0, 7);
  for (const id of wave) r.pins.set(id, pin);
  await r.controller.reconcileDevices(wave);
  const targeted = new Map(r.store.desired);
  // Unpinning some (a rollback to no release) puts the workload's own template back.
  for (const id of wave.slice(0, 3)) r.pins.delete(id);
  await r.controller.reconcileDevices(wave.slice(0, 3));
  for (const id of wave.slice(0, 3)) t.is(r.store.desired.get(id)?.instances[0]?.release, undefined, `${id} runs its workload's template again`);
  r.published.length = 0;
  await r.controller.reconcile();
  t.deepEqual(r.published, [], 'nothing left for a whole pass to change');
  for (const id of wave.slice(3)) t.deepEqual(r.store.desired.get(id), targeted.get(id));
});
