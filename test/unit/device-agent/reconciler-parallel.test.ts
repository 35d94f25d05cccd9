// The reconciler's shell around the pure planner: independent instances start concurrently
// (bounded), and each is reported as it reaches running (issue 11, part 4). The runtime is a
// fake of our own interface that fails loudly on any call a test did not set up, the clock is
// fixed, and the report link is an in-memory list.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { lanesOf, runBounded } from '../../../src/device-agent/reconcile/lanes.js';
import { kubernetesBackoff, type InstanceRecord, type Step } from '../../../src/device-agent/reconcile/model.js';
import { Reconciler } from '../../../src/device-agent/reconcile/reconciler.js';
import type { InstanceRuntime, ObservedInstance } from '../../../src/device-agent/runtime/runtime.js';
import { templateSchema, type DesiredInstance, type DesiredState, type ReportedState } from '../../../src/protocol/index.js';

const NOW = 2_000_000_000;
const REVISION = 'aaaaaaaa';

function instance(n: number): DesiredInstance {
  return { id: `web-${n}`, workload: 'web', revision: REVISION, template: templateSchema.parse({ runtime: 'container', image: 'local/busybox:latest' }) };
}

function desiredOf(count: number): DesiredState {
  return { generation: 1, issuedAt: new Date(NOW).toISOString(), instances: Array.from({ length: count }, (_, n) => instance(n)) };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A container runtime whose `start` waits until the test releases that instance. Anything the
 * reconciler calls that this fake does not implement throws, naming the call.
 */
function gatedRuntime() {
  const running: ObservedInstance[] = [];
  const gates = new Map<string, Deferred>();
  const gate = (id: string): Deferred => {
    let g = gates.get(id);
    if (!g) gates.set(id, (g = deferred()));
    return g;
  };
  let inFlight = 0;
  let maxInFlight = 0;
  const startedOrder: string[] = [];
  const notSetUp = (name: string) => () => {
    throw new Error(`fake runtime: ${name} was called but is not set up in this test`);
  };
  const runtime: InstanceRuntime = {
    kind: 'container',
    list: async () => [...running],
    prepare: async () => undefined,
    start: async (i) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      startedOrder.push(i.id);
      await gate(i.id).promise;
      inFlight -= 1;
      const observed: ObservedInstance = { id: i.id, workload: i.workload, revision: i.revision, runtime: 'container', state: 'running', containerId: `c-${i.id}`, startedAt: new Date(NOW) };
      running.push(observed);
      return observed;
    },
    stop: notSetUp('stop'),
    remove: notSetUp('remove'),
    logs: notSetUp('logs'),
    exec: notSetUp('exec'),
    probeHost: notSetUp('probeHost'),
    usage: notSetUp('usage'),
    onExit: () => () => undefined,
    close: notSetUp('close'),
  };
  return {
    runtime,
    release: (id: string) => gate(id).resolve(),
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    startedOrder,
  };
}

/** A reconciler with in-memory state and report link; `errors` collects what it logged as errors. */
function harness(runtime: InstanceRuntime, parallelStarts?: number) {
  const reports: ReportedState[] = [];
  const errors: string[] = [];
  let recordWrites = 0;
  const reconciler = new Reconciler({
    decorate: async (i) => i,
    release: async () => undefined,
    runtimes: { container: runtime },
    state: {
      loadDesired: async () => undefined,
      saveDesired: async () => undefined,
      loadRecords: async () => new Map<string, InstanceRecord>(),
      saveRecords: async () => void (recordWrites += 1),
    },
    publishReport: async (report) => {
      reports.push(report);
      return true;
    },
    event: () => undefined,
    now: () => NOW,
    backoff: kubernetesBackoff,
    log: createLogger('test', 'warn', (line) => void errors.push(line)),
    resyncMs: 60_000,
    ...(parallelStarts !== undefined ? { parallelStarts } : {}),
  });
  return { reconciler, reports, errors, recordWrites: () => recordWrites };
}

const runningIn = (report: ReportedState): string[] => report.instances.filter((i) => i.phase === 'running').map((i) => i.id).sort();

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

test('ten instances start at most four at a time, in plan order, and all of them start', async (t) => {
  const fake = gatedRuntime();
  const { reconciler, errors } = harness(fake.runtime, 4);
  await reconciler.start();
  await reconciler.setDesired(desiredOf(10));
  await until(() => fake.inFlight === 4, 'four starts in flight');
  // Nothing more is started while four are in flight, however long the test waits here.
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  t.is(fake.inFlight, 4);
  t.deepEqual(fake.startedOrder, ['web-0', 'web-1', 'web-2', 'web-3']);
  for (let n = 0; n < 10; n++) {
    fake.release(`web-${n}`);
    await until(() => fake.startedOrder.length === Math.min(10, n + 5), `start ${n + 4} begun`);
  }
  await until(() => fake.startedOrder.length === 10 && fake.inFlight === 0, 'all ten started');
  await reconciler.stop();
  t.is(fake.maxInFlight, 4);
  t.deepEqual(fake.startedOrder, Array.from({ length: 10 }, (_, n) => `web-${n}`));
  t.deepEqual(errors, []);
});

test('each instance is reported as it reaches running; starts finishing in one tick share one report', async (t) => {
  const fake = gatedRuntime();
  const { reconciler, reports, errors, recordWrites } = harness(fake.runtime, 4);
  await reconciler.start();
  await reconciler.setDesired(desiredOf(5));
  await until(() => fake.inFlight === 4, 'four starts in flight');

  fake.release('web-2');
  await until(() => reports.some((r) => runningIn(r).length === 1), 'a report with web-2 running');
  t.deepEqual(runningIn(reports.at(-1)!), ['web-2'], 'web-2 is reported while the others are still starting');
  // web-4 may already be on its way in the slot web-2 freed.
  for (const other of reports.at(-1)!.instances.filter((i) => i.id !== 'web-2')) t.true(['pending', 'pulling', 'starting'].includes(other.phase), `${other.id} is ${other.phase}`);

  // Two starts that finish in the same tick: one report names both.
  fake.release('web-0');
  fake.release('web-1');
  await until(() => reports.some((r) => runningIn(r).length === 3), 'a report with three running');
  t.false(reports.some((r) => runningIn(r).length === 2), 'no report between the two starts of one tick');

  fake.release('web-3');
  fake.release('web-4');
  await until(() => reports.some((r) => runningIn(r).length === 5), 'all five reported running');
  await reconciler.stop();
  const counts = reports.map((r) => runningIn(r).length);
  t.deepEqual(counts.filter((c, i) => c !== counts[i - 1]), counts, 'no report repeats the one before it');
  t.true(counts.every((c, i) => i === 0 || c >= (counts[i - 1] ?? 0)), `running only grows: ${counts.join(',')}`);
  // Five starts each saved their records, coalesced into fewer durable writes.
  t.true(recordWrites() < 5 + 1, `records written ${recordWrites()} times`);
  t.deepEqual(errors, []);
});

test('with a bound of one the starts are strictly one after another', async (t) => {
  const fake = gatedRuntime();
  const { reconciler, errors } = harness(fake.runtime, 1);
  await reconciler.start();
  await reconciler.setDesired(desiredOf(3));
  for (let n = 0; n < 3; n++) {
    await until(() => fake.startedOrder.length === n + 1, `start ${n}`);
    fake.release(`web-${n}`);
  }
  await until(() => fake.inFlight === 0 && fake.startedOrder.length === 3, 'three started');
  await reconciler.stop();
  t.is(fake.maxInFlight, 1);
  t.deepEqual(errors, []);
});

test('lanes: one instance keeps its steps in plan order; removals of other ids come before any install', (t) => {
  const d = instance(1);
  const steps: Step[] = [
    { kind: 'stop', id: 'gone-0', revision: REVISION, graceSeconds: 10, reason: 'no longer desired' },
    { kind: 'remove', id: 'gone-0', revision: REVISION, reason: 'no longer desired', forget: true },
    { kind: 'start', instance: instance(0), reason: 'create' },
    { kind: 'stop', id: 'web-1', revision: 'bbbbbbbb', graceSeconds: 10, reason: 'replaced' },
    { kind: 'remove', id: 'web-1', revision: 'bbbbbbbb', reason: 'replaced' },
    { kind: 'start', instance: d, reason: 'replace' },
    { kind: 'wait', id: 'web-2', until: NOW + 1000, reason: 'crash-loop backoff' },
    { kind: 'fail', id: 'web-3', workload: 'web', reason: 'this device has no process runtime' },
  ];
  const lanes = lanesOf(steps);
  t.deepEqual(lanes.release.map((l) => l.map((s) => s.kind)), [['stop', 'remove'], ['fail']]);
  t.deepEqual(lanes.install.map((l) => l.map((s) => s.kind)), [['start'], ['stop', 'remove', 'start']]);
  t.is((lanes.install[1]?.[2] as Extract<Step, { kind: 'start' }>).instance, d);
});

test('runBounded: a failing item does not stop the others; the failure is thrown once all settled; an abort starts nothing new', async (t) => {
  const done: number[] = [];
  const error = await t.throwsAsync(
    runBounded([1, 2, 3, 4, 5], 2, new AbortController().signal, async (n) => {
      await new Promise((r) => setImmediate(r));
      if (n === 2) throw new Error('item 2 failed');
      done.push(n);
    }),
  );
  t.is(error?.message, 'item 2 failed');
  t.deepEqual(done.sort(), [1, 3, 4, 5]);

  const controller = new AbortController();
  const begun: number[] = [];
  await runBounded([1, 2, 3, 4], 2, controller.signal, async (n) => {
    begun.push(n);
    await new Promise((r) => setImmediate(r));
    controller.abort();
  });
  t.deepEqual(begun, [1, 2]);
});
