// A desired pass is skipped when its inputs are those of a pass that changed nothing (issue 11).
// What must never be skipped: a pass that time alone changes (an offline device's grace running
// out), a pass over a fleet with taints or a draining device, a pass after a write of any input.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { workloadSpecSchema, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import type { HubStore } from '../../../src/hub/store/repository.js';
import { DesiredStateController } from '../../../src/hub/workloads/desired-controller.js';
import { templateRevision } from '../../../src/hub/workloads/revision.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const start = Date.parse('2026-05-04T12:00:00Z');
const status = (state: 'online' | 'offline', at: number): DeviceStatus => ({ state, reason: state === 'online' ? 'connected' : 'connection-lost', agentVersion: 't', bootId: 'b', sessionId: 's', since: new Date(at).toISOString() });

function device(id: string): DeviceRecord {
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: '2026-05-01T00:00:00Z', joinedWithToken: 't', status: status('online', start - 60_000), facts: gatewayFacts({ hostname: id }) };
}

function workload(name: string, spec: Record<string, unknown>): WorkloadRecord {
  const parsed = workloadSpecSchema.parse({ template: { runtime: 'process', command: ['sleep', '1'] }, ...spec });
  return { name, labels: {}, annotations: {}, spec: parsed, revision: templateRevision(parsed.template), createdAt: '2026-05-01T00:00:00Z', updatedAt: '2026-05-01T00:00:00Z' };
}

async function rig(t: { teardown(f: () => unknown): void }): Promise<{ store: HubStore; controller: DesiredStateController; clock: { now: number } }> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-quiet-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await openLowdbStore(dir, () => undefined);
  t.teardown(() => store.close());
  for (const id of ['a', 'b', 'c']) await store.devices.put(device(id), 'sync');
  await store.workloads.putAll([workload('web', { replicas: 1, offlineGraceSeconds: 60 }), workload('helper', { replicas: 'all' })]);
  const clock = { now: start };
  const controller = new DesiredStateController({ store, publish: async () => undefined, now: () => new Date(clock.now), log: createLogger('desired', 'warn') });
  t.teardown(() => controller.stop());
  await controller.reconcile();
  await controller.reconcile();
  return { store, controller, clock };
}

test('an offline device: passes are skipped until its grace runs out, and the pass then moves its replica', async (t) => {
  const { store, controller, clock } = await rig(t);
  const skipped = controller.quiet.skipped;
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped + 1, 'steady state: the pass is skipped');
  const host = (await store.placements.get('web'))?.replicas['0'] as string;
  await store.devices.observe(host, (d) => void (d.status = status('offline', start)));
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped + 1, 'a device changed: the pass runs');
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped + 2, 'nothing changed since, within the grace: skipped');
  t.is((await store.placements.get('web'))?.replicas['0'], host);
  clock.now = start + 61_000;
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped + 2, 'the grace ran out: the pass runs');
  const moved = (await store.placements.get('web'))?.replicas['0'];
  t.true(moved !== undefined && moved !== host, `replica moved from ${host} to ${moved}`);
});

test('a fleet with a taint, or a draining device, is never skipped; nor a pass after a workload changed', async (t) => {
  const { store, controller } = await rig(t);
  const skipped = controller.quiet.skipped;
  await store.devices.update('a', (d) => void (d.taints = [{ key: 'k', value: 'v', effect: 'NoExecute', addedAt: new Date(start).toISOString() }]), 'sync');
  await controller.reconcile();
  await controller.reconcile();
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped, 'a taint may be tolerated for a while: time alone can change the pass');
  await store.devices.update('a', (d) => void ((d.taints = []), (d.draining = true)), 'sync');
  await controller.reconcile();
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped, 'a draining device: readiness paces the pass');
  await store.devices.update('a', (d) => void (d.draining = false), 'sync');
  await controller.reconcile();
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped + 1);
  await store.workloads.putAll([{ ...workload('web', { replicas: 2, offlineGraceSeconds: 60 }) }]);
  await controller.reconcile();
  t.is(controller.quiet.skipped, skipped + 1, 'a workload changed (its replicas, not its template): the pass runs');
  t.is(Object.keys((await store.placements.get('web'))?.replicas ?? {}).length, 2);
});
