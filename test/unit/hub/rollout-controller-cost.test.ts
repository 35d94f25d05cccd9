// The rollout controller's cost at fleet scale: the fleet (every device, desired and reported
// document) is read from the store once per queued task and again only after actions changed
// it, not once per transition; a transition checks and copies the device entries it changed,
// not the whole rollout. Counted, not timed.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { RolloutController } from '../../../src/hub/rollouts/rollout-controller.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import type { DeviceRecord } from '../../../src/hub/store/records.js';
import type { HubStore } from '../../../src/hub/store/repository.js';
import { templateRevision } from '../../../src/hub/workloads/revision.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  releaseDigest,
  releaseSpecSchema,
  rolloutDeviceSchema,
  rolloutSpecSchema,
  rolloutStateSchema,
  templateSchema,
  type DesiredInstance,
  type ReleaseRecord,
  type RolloutState,
} from '../../../src/protocol/index.js';
import { deviceIndexStats } from '../../../src/scheduler/rollout/index.js';
import { makeTempDir } from '../../support/paths.js';

const t0 = Date.parse('2026-03-01T01:00:00Z');
const v1 = templateSchema.parse({ runtime: 'process', command: ['app', '1'] });
const spec = releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: { runtime: 'process', command: ['app', '2'] } } });
const release: ReleaseRecord = { name: 'app', labels: {}, annotations: {}, spec, digest: releaseDigest({ metadata: { name: 'app' }, spec }), createdAt: new Date(t0).toISOString() };

function device(i: number): DeviceRecord {
  const id = `dev-${String(i).padStart(5, '0')}`;
  return {
    id,
    hardwareId: `hw-${i}`,
    hostname: id,
    labels: { site: 'plant-3' },
    taints: [],
    unschedulable: false,
    credentialHash: 'a'.repeat(64),
    registeredAt: new Date(t0).toISOString(),
    joinedWithToken: 'tok',
    status: { state: 'online', reason: 'connected', agentVersion: 'test', bootId: 'b', sessionId: 's', since: new Date(t0).toISOString() },
    facts: {
      hostname: id,
      arch: 'arm64',
      os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6.1' },
      board: { manufacturer: 'Sim', model: 'rock5b' },
      cpu: { model: 'sim', cores: 4 },
      memory: { totalBytes: 2 ** 30 },
      disk: { totalBytes: 2 ** 34, freeBytes: 2 ** 33 },
      temperatureC: null,
      runtimes: { docker: { available: false }, process: { available: true } },
      serialPorts: [],
      mcus: [],
      resources: {},
      images: [],
    },
  };
}

/**
 * Counts the store's checks of rollouts while `run` runs: device entries checked one by one, and
 * checks of a whole rollout with its devices. Process-wide: only in serial tests.
 */
async function countingChecks<T>(run: () => Promise<T>): Promise<T & { checks: { entries: number; wholeRollouts: number } }> {
  const checks = { entries: 0, wholeRollouts: 0 };
  const entry = rolloutDeviceSchema.safeParse;
  const whole = rolloutStateSchema.safeParse;
  rolloutDeviceSchema.safeParse = ((value: unknown, ...rest: unknown[]) => ((checks.entries += 1), entry.call(rolloutDeviceSchema, value, ...(rest as [])))) as typeof entry;
  rolloutStateSchema.safeParse = ((value: unknown, ...rest: unknown[]) => {
    if (Object.keys((value as RolloutState).status?.devices ?? {}).length > 0) checks.wholeRollouts += 1;
    return whole.call(rolloutStateSchema, value, ...(rest as []));
  }) as typeof whole;
  try {
    return { ...(await run()), checks };
  } finally {
    rolloutDeviceSchema.safeParse = entry;
    rolloutStateSchema.safeParse = whole;
  }
}

/** Counts the controller's reads of the whole fleet and its writes of rollout states. */
function counting(store: HubStore) {
  const counts = { fleetReads: 0, writes: 0, writesWithActions: 0, copies: 0 };
  // A fleet read is a list of every device, copied or as the store's read-only snapshot.
  const devices = {
    ...store.devices,
    list: () => ((counts.fleetReads += 1), store.devices.list()),
    snapshot: () => ((counts.fleetReads += 1), store.devices.snapshot()),
  };
  const rollouts = {
    ...store.rollouts,
    // Copies of a stored rollout (a 10,000-device rollout is megabytes).
    get: (name: string) => ((counts.copies += 1), store.rollouts.get(name)),
    list: () => ((counts.copies += 1), store.rollouts.list()),
    put: (r: RolloutState) => {
      counts.writes += 1;
      if (r.status.outbox.length > 0) counts.writesWithActions += 1;
      return store.rollouts.put(r);
    },
  };
  return { store: { ...store, devices, rollouts } as HubStore, counts };
}

/**
 * A desired pass and a fleet of healthy agents in one: each device's document carries its
 * pinned release's template, and the device at once reports that generation running and ready.
 */
function healthyFleet(store: HubStore, ids: readonly string[]) {
  return async (): Promise<void> => {
    const pins = await store.releasePins.all();
    // All at once, like the desired pass: the writes share one store commit.
    await Promise.all(ids.map(async (id) => {
      const pin = pins.get(id);
      const template = pin ? (spec.workloads['app'] ?? v1) : v1;
      const instance: DesiredInstance = { id: 'app', workload: 'app', revision: templateRevision(template), template, ...(pin ? { release: pin.release } : {}) };
      const current = await store.deviceState.desired(id);
      if (current && JSON.stringify(current.instances) === JSON.stringify([instance])) return;
      const generation = (current?.generation ?? 0) + 1;
      const time = new Date(t0).toISOString();
      await store.deviceState.putDesired(id, { generation, issuedAt: time, instances: [instance] });
      await store.deviceState.putReported(id, {
        observedGeneration: generation,
        time,
        instances: [{ id: 'app', workload: 'app', revision: instance.revision, runtime: 'process', phase: 'running', ready: true, restarts: 0, startedAt: time }],
      });
    }));
  };
}

async function runRollout(devices: number) {
  const dir = await makeTempDir();
  const base = await openLowdbStore(dir.path);
  const ids: string[] = [];
  const records = Array.from({ length: devices }, (_, i) => device(i));
  ids.push(...records.map((d) => d.id));
  await Promise.all(records.map((d) => base.devices.put(d, 'lazy')));
  await base.releases.create(release);
  const replan = healthyFleet(base, ids);
  await replan();
  const { store, counts } = counting(base);
  // Each call, with whether the revision it names was on disk by then (store.json holds the
  // rollout's header, and is replaced whole by a rename).
  const transitions: { revision: number; durable: boolean }[] = [];
  const onTransition = (r: Readonly<RolloutState>): void => {
    const doc = JSON.parse(readFileSync(join(dir.path, 'store.json'), 'utf8')) as { rollouts?: Record<string, RolloutState> };
    transitions.push({ revision: r.status.revision, durable: (doc.rollouts?.['ro']?.status.revision ?? -1) >= r.status.revision });
  };
  const controller = new RolloutController({ store, now: () => new Date(t0), log: createLogger('test', 'error'), replan, onTransition });
  const indexesBefore = deviceIndexStats.built;
  const wave = (extra: Record<string, unknown>) => ({ ...extra, maxUnavailable: '100%', minHealthySeconds: 0 });
  await controller.create(
    'ro',
    rolloutSpecSchema.parse({
      selector: { matchLabels: { site: 'plant-3' } },
      release: { name: 'app', version: '2.0.0' },
      waves: [wave({ percent: 1 }), wave({ percent: 5 }), wave({ percent: 20 }), wave({ percent: 50 }), wave({ percent: 100 })],
    }),
  );
  // Passes are driven by hand: no timers, so every task is one of these calls.
  controller.stop();
  let tasks = 1; // create()
  let phase = '';
  for (; tasks < 50; ) {
    tasks += 1;
    await controller.pass();
    phase = (await base.rollouts.get('ro'))?.status.phase ?? '';
    if (phase !== 'progressing' && phase !== 'scheduled') break;
  }
  const final = await base.rollouts.get('ro');
  await base.settled();
  const heard = transitions;
  await base.close();
  await dir.remove();
  return {
    counts,
    tasks,
    phase,
    transitions: final?.status.revision ?? 0,
    healthy: Object.values(final?.status.devices ?? {}).filter((d) => d.state === 'healthy').length,
    observationsBuilt: controller.observations.built,
    indexesBuilt: deviceIndexStats.built - indexesBefore,
    heard,
  };
}

test('a 5-wave rollout reads the fleet once per pass and once after each batch of actions, not once per transition', async (t) => {
  const r = await runRollout(100);
  t.is(r.phase, 'completed');
  t.is(r.healthy, 100);
  t.true(r.transitions >= 15, `a 5-wave rollout takes many transitions (${r.transitions})`);
  // The bound: one read per task, one more after each transition that carried actions.
  t.true(r.counts.fleetReads <= r.tasks + r.counts.writesWithActions, `${r.counts.fleetReads} fleet reads for ${r.tasks} passes and ${r.counts.writesWithActions} action batches`);
  t.true(r.counts.fleetReads < r.transitions, `${r.counts.fleetReads} fleet reads for ${r.transitions} transitions`);
});

test('the number of fleet reads of a rollout does not grow with the fleet', async (t) => {
  const small = await runRollout(40);
  const large = await runRollout(160);
  t.is(small.phase, 'completed');
  t.is(large.phase, 'completed');
  t.is(large.counts.fleetReads, small.counts.fleetReads, `40 devices: ${small.counts.fleetReads} reads, 160 devices: ${large.counts.fleetReads}`);
});

test('a device is observed again only when its records changed, not once per pass or transition', async (t) => {
  for (const devices of [40, 160]) {
    const r = await runRollout(devices);
    t.is(r.phase, 'completed');
    // Once at the start, then after its wave's pin, desired document and report changed it
    // (each at most once): a bounded number per device, however many passes and transitions ran.
    t.true(r.observationsBuilt <= 4 * devices, `${devices} devices: ${r.observationsBuilt} observations built over ${r.tasks} passes and ${r.transitions} transitions`);
    t.true(r.observationsBuilt >= devices, `every device observed at least once (${r.observationsBuilt})`);
  }
});

test.serial('a transition checks only the device entries it changed: checks follow the devices, not devices × transitions', async (t) => {
  for (const devices of [40, 160]) {
    const r = await countingChecks(() => runRollout(devices));
    t.is(r.phase, 'completed');
    // Each device changes state a bounded number of times (pending, updating, healthy): each
    // change is one entry checked. Checking the whole rollout per transition was devices × transitions.
    t.true(r.checks.entries <= 4 * devices, `${devices} devices: ${r.checks.entries} entries checked over ${r.transitions} transitions`);
    t.true(r.checks.wholeRollouts <= 1, `${devices} devices: the whole rollout was checked ${r.checks.wholeRollouts} times (once: at its creation)`);
    t.is(r.counts.copies, 0, 'the controller reads stored rollouts without copying them');
  }
});

test('onTransition hears of every revision once, after it is durable, and of nothing else', async (t) => {
  const r = await runRollout(40);
  t.is(r.phase, 'completed');
  // Creation (revision 0) and each transition: once each, in order.
  t.deepEqual(r.heard.map((h) => h.revision), Array.from({ length: r.transitions + 1 }, (_, i) => i));
  t.deepEqual(r.heard.filter((h) => !h.durable), [], 'a revision is announced only once it is on disk');
});

test.serial('the step indexes the rollout\'s devices once, not per transition nor per pass: each write hands the index on', async (t) => {
  for (const devices of [40, 160]) {
    const r = await runRollout(devices);
    t.is(r.phase, 'completed');
    // A pass over a 10,000-device rollout walked every device several times per step; the index
    // of its devices by wave and state (built by walking them) is built at its first step and
    // then handed from each revision to the next, and to the store's copy of it.
    t.true(r.indexesBuilt <= 1, `${devices} devices: ${r.indexesBuilt} indexes built over ${r.tasks} passes and ${r.transitions} transitions`);
  }
});
