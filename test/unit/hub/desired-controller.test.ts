// DesiredStateController on its own: in-memory store, a recording publish link, a fixed clock.
// What it promises: each device gets its whole desired document with a generation that only
// grows, stored before it is published (retained), and only devices whose document changed are
// sent anything.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { topics, workloadSpecSchema, type DesiredState, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { DesiredStateController } from '../../../src/hub/workloads/desired-controller.js';
import { NotLeadingError } from '../../../src/hub/leadership/leadership.js';
import { gatewayFacts } from '../../support/facts-fixture.js';
import { MemoryStore } from '../../support/memory-store.js';

const now = new Date('2026-05-04T12:00:00Z');
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: '2026-05-04T11:00:00Z' };
const template = { runtime: 'process', command: ['sleep', '100'], resources: { requests: { cpuMillis: 10, memoryBytes: 8 * 2 ** 20 } } };

function device(id: string, status: DeviceStatus | 'never-connected' = online): DeviceRecord {
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels: {},
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: '2026-05-01T00:00:00Z',
    joinedWithToken: 'tok',
    ...(status !== 'never-connected' ? { status } : {}),
    facts: gatewayFacts({ hostname: id }),
  };
}

function workload(name: string, spec: Record<string, unknown>, revision = `${name}-r1`): WorkloadRecord {
  return { name, labels: {}, annotations: {}, spec: workloadSpecSchema.parse({ template, ...spec }), revision, createdAt: '2026-05-01T00:00:00Z', updatedAt: '2026-05-01T00:00:00Z' };
}

interface Published {
  topic: string;
  payload: DesiredState;
  retain: boolean;
}

function rig(deviceIds: string[], options: { failPublish?: boolean | (() => boolean) } = {}) {
  const store = new MemoryStore();
  for (const id of deviceIds) store.devices.set(id, device(id));
  /** Writes and publishes in the order they happened. */
  const order: string[] = [];
  store.beforeWrite = (w) => order.push(`write ${w.collection} ${w.key}`);
  const published: Published[] = [];
  const logs: string[] = [];
  const controller = new DesiredStateController({
    // No rollouts: the desired pass also reads them (release pins, downloads ahead of a window).
    store: store.hubStore({ releasePins: { all: async () => new Map(), snapshot: async () => new Map() }, rollouts: { list: async () => [], snapshot: async () => [] } }),
    publish: async (topic, payload, retain) => {
      if (typeof options.failPublish === 'function' ? options.failPublish() : options.failPublish) throw new Error('broker gone');
      order.push(`publish ${topic}`);
      published.push({ topic, payload: payload as DesiredState, retain });
    },
    now: () => now,
    log: createLogger('desired', 'debug', (line) => logs.push(line)),
  });
  return { store, controller, published, order, logs };
}

test('replicas: all: every online device gets generation 1 with its instance, stored before it is published retained', async (t) => {
  const r = rig(['a', 'b', 'c']);
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await r.controller.reconcile();
  t.deepEqual(r.published.map((p) => [p.topic, p.payload.generation, p.payload.instances.map((i) => `${i.id}@${i.revision}`), p.retain]), [
    [topics.desired('a'), 1, ['helper@helper-r1'], true],
    [topics.desired('b'), 1, ['helper@helper-r1'], true],
    [topics.desired('c'), 1, ['helper@helper-r1'], true],
  ]);
  for (const id of ['a', 'b', 'c']) {
    t.true(r.order.indexOf(`write desired ${id}`) < r.order.indexOf(`publish ${topics.desired(id)}`), `${id}: stored first`);
    t.deepEqual(r.store.desired.get(id), r.published.find((p) => p.topic === topics.desired(id))?.payload);
  }
  t.is(r.published[0]?.payload.issuedAt, now.toISOString());
});

test('a pass with nothing changed publishes nothing and writes nothing', async (t) => {
  const r = rig(['a', 'b']);
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await r.controller.reconcile();
  const writes = r.store.writes.length;
  r.published.length = 0;
  await r.controller.reconcile();
  t.deepEqual(r.published, []);
  t.is(r.store.writes.length, writes);
  t.is(r.controller.timings.summary().count, 2);
  t.is(r.controller.timings.summary().last?.published, 0);
});

test('a new revision: generation 2 everywhere, the same instance ids at the new revision', async (t) => {
  const r = rig(['a', 'b']);
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await r.controller.reconcile();
  r.store.workloads.set('helper', workload('helper', { replicas: 'all', template: { ...template, env: { V: '2' } } }, 'helper-r2'));
  await r.controller.reconcile();
  t.deepEqual(
    r.published.slice(2).map((p) => [p.topic, p.payload.generation, p.payload.instances.map((i) => `${i.id}@${i.revision}:${i.template.env['V'] ?? ''}`)]),
    [
      [topics.desired('a'), 2, ['helper@helper-r2:2']],
      [topics.desired('b'), 2, ['helper@helper-r2:2']],
    ],
  );
});

test('replicas: N is placed and stored once; only the devices that got a replica are sent a document', async (t) => {
  const ids = Array.from({ length: 30 }, (_, i) => `d${String(i).padStart(2, '0')}`);
  const r = rig(ids);
  r.store.workloads.set('web', workload('web', { replicas: 3 }));
  await r.controller.reconcile();
  const placement = r.store.placements.get('web');
  t.is(Object.keys(placement?.replicas ?? {}).length, 3);
  const holders = new Set(Object.values(placement?.replicas ?? {}));
  t.deepEqual(new Set(r.published.map((p) => p.topic)), new Set([...holders].map((id) => topics.desired(id))));
  t.is(r.published.flatMap((p) => p.payload.instances).length, 3);
  t.deepEqual(r.store.events.get('workload/web')?.map((e) => e.reason), ['Scheduled', 'Scheduled', 'Scheduled']);
  // Deleting the workload empties exactly those documents (a new generation, no instances).
  r.store.workloads.delete('web');
  r.published.length = 0;
  await r.controller.reconcile();
  t.deepEqual(new Set(r.published.map((p) => p.topic)), new Set([...holders].map((id) => topics.desired(id))));
  t.true(r.published.every((p) => p.payload.generation === 2 && p.payload.instances.length === 0));
});

test('a device that never connected is sent nothing; once it is online it gets its instance', async (t) => {
  const r = rig(['a']);
  r.store.devices.set('fresh', device('fresh', 'never-connected'));
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await r.controller.reconcile();
  t.deepEqual(r.published.map((p) => p.topic), [topics.desired('a')]);
  r.store.devices.set('fresh', device('fresh'));
  await r.controller.reconcile();
  t.deepEqual(r.published.map((p) => p.topic), [topics.desired('a'), topics.desired('fresh')]);
});

test('republishAll sends every stored document again, retained, with its generation unchanged', async (t) => {
  const r = rig(['a', 'b']);
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await r.controller.reconcile();
  r.published.length = 0;
  await r.controller.republishAll();
  t.deepEqual(r.published.map((p) => [p.topic, p.payload.generation, p.retain]), [
    [topics.desired('a'), 1, true],
    [topics.desired('b'), 1, true],
  ]);
});

test('passAfterWrite resolves after a pass that started after the call (it sees the write)', async (t) => {
  const r = rig(['a']);
  const waiting = r.controller.passAfterWrite();
  // The write lands after the call but before the (deferred) pass starts.
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await waiting;
  t.deepEqual(r.published.map((p) => p.topic), [topics.desired('a')]);
  r.controller.stop();
});

test('passes requested during a pass cause exactly one more pass', async (t) => {
  const r = rig(['a']);
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  const first = r.controller.reconcile();
  const second = r.controller.reconcile();
  const third = r.controller.reconcile();
  await Promise.all([first, second, third]);
  t.is(r.controller.timings.summary().count, 2);
});

test('a failed publish is logged and does not throw out of reconcile', async (t) => {
  const r = rig(['a'], { failPublish: true });
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await t.notThrowsAsync(r.controller.reconcile());
  t.true(r.logs.some((l) => /desired state pass failed: .*broker gone/.test(l)));
});

test('a pass whose publish is refused because this hub no longer leads says so in one warning, not as a failure', async (t) => {
  const store = new MemoryStore();
  store.devices.set('a', device('a'));
  store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  const logs: string[] = [];
  const controller = new DesiredStateController({
    store: store.hubStore({ releasePins: { all: async () => new Map(), snapshot: async () => new Map() }, rollouts: { list: async () => [], snapshot: async () => [] } }),
    publish: async () => {
      throw new NotLeadingError('not published: this hub no longer leads');
    },
    now: () => now,
    log: createLogger('desired', 'debug', (line) => logs.push(line)),
  });
  await controller.reconcile();
  t.true(logs.some((l) => /WARN .*desired state pass stopped: not published: this hub no longer leads/.test(l)), logs.join('\n'));
  t.false(logs.some((l) => /pass failed/.test(l)));
});

test('a document stored by a pass that failed before publishing it is published by the next pass (it was not sent: stored is not sent)', async (t) => {
  let failing = true;
  const r = rig(['a', 'b'], { failPublish: () => failing });
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  await r.controller.reconcile();
  t.is(r.store.desired.get('a')?.generation, 1, 'stored');
  t.deepEqual(r.published, [], 'the broker refused: nothing was sent');
  failing = false;
  await r.controller.reconcile();
  t.deepEqual(r.published.map((p) => [p.topic, p.payload.generation, p.retain]).sort(), [
    [topics.desired('a'), 1, true],
    [topics.desired('b'), 1, true],
  ]);
  r.published.length = 0;
  await r.controller.reconcile();
  t.deepEqual(r.published, [], 'once sent, not again');
});

test('documents are published pipelined (several in flight at once, within a bound), each after the pass stored them all', async (t) => {
  const store = new MemoryStore();
  const ids = Array.from({ length: 600 }, (_, i) => `d${String(i).padStart(3, '0')}`);
  for (const id of ids) store.devices.set(id, device(id));
  store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  let inFlight = 0;
  let most = 0;
  const stored: string[] = [];
  let publishedBeforeAllStored = 0;
  store.beforeWrite = (w) => void (w.collection === 'desired' && stored.push(w.key));
  const controller = new DesiredStateController({
    // No rollouts: the desired pass also reads them (release pins, downloads ahead of a window).
    store: store.hubStore({ releasePins: { all: async () => new Map(), snapshot: async () => new Map() }, rollouts: { list: async () => [], snapshot: async () => [] } }),
    publish: async () => {
      if (stored.length < ids.length) publishedBeforeAllStored += 1;
      inFlight += 1;
      most = Math.max(most, inFlight);
      // A broker round trip: answered on a later turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
    },
    now: () => now,
    log: createLogger('desired', 'error', () => undefined),
  });
  await controller.reconcile();
  t.is(stored.length, 600);
  t.is(publishedBeforeAllStored, 0);
  t.true(most > 1, `at most ${most} in flight`);
  t.true(most <= 256, `at most ${most} in flight`);
});

test('a pass asked for by a caller answered by the last pass, before that pass has wound down, still runs (no lost wakeup)', async (t) => {
  const r = rig(['a']);
  r.store.workloads.set('helper', workload('helper', { replicas: 'all' }));
  // An API write answered after the pass that saw the previous one, writing again at once.
  const chained = r.controller.passAfterWrite().then(() => {
    r.store.workloads.set('helper', workload('helper', { replicas: 'all', template: { ...template, env: { V: '2' } } }, 'helper-r2'));
    return r.controller.reconcile();
  });
  const hung = await Promise.race([chained.then(() => 'done'), new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 2000).unref())]);
  t.is(hung, 'done');
  t.deepEqual(r.published.map((p) => p.payload.generation), [1, 2], 'the second pass ran and sent the new revision');
  r.controller.stop();
});
