import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { createExecutors, type ExecutorContext } from '../../../src/device-agent/reconcile/executors.js';
import { kubernetesBackoff, type InstanceRecord } from '../../../src/device-agent/reconcile/model.js';
import type { InstanceRuntime, ObservedInstance } from '../../../src/device-agent/runtime/runtime.js';
import { templateSchema, type DesiredInstance, type DeviceEvent } from '../../../src/protocol/index.js';

const NOW = 2_000_000_000;

function desired(revision: string): DesiredInstance {
  return { id: 'web-0', workload: 'web', revision, template: templateSchema.parse({ runtime: 'process', command: ['sleep', '100'] }) };
}

/** A runtime whose start succeeds or throws, as the test says. */
function fakeRuntime(failStart: () => boolean): InstanceRuntime {
  const observed = (i: DesiredInstance): ObservedInstance => ({ id: i.id, workload: i.workload, revision: i.revision, runtime: 'process', state: 'running', pid: 42 });
  return {
    kind: 'process',
    list: async () => [],
    prepare: async () => undefined,
    start: async (i) => {
      if (failStart()) throw new Error('exec: "bad": not found');
      return observed(i);
    },
    stop: async () => undefined,
    remove: async () => undefined,
    logs: async function* () {},
    exec: async () => ({ exitCode: 0, output: '' }),
    probeHost: async () => '127.0.0.1',
    usage: async () => undefined,
    onExit: () => () => undefined,
    close: async () => undefined,
  };
}

function context(records: Map<string, InstanceRecord>, runtime: InstanceRuntime, events: Omit<DeviceEvent, 'time'>[], released: string[] = []): ExecutorContext {
  return {
    decorate: async (i) => i,
    release: async (id) => void released.push(id),
    runtimeFor: () => runtime,
    runtimeOf: () => runtime,
    records,
    saveRecords: async () => undefined,
    activity: new Map(),
    failures: new Map(),
    prefetched: new Map(),
    event: (e) => void events.push(e),
    now: () => NOW,
    backoff: kubernetesBackoff,
    log: createLogger('test', 'error', () => undefined),
  };
}

const signal = new AbortController().signal;

test('a requested restart does not count in RESTARTS; a crash restart does (issue 12)', async (t) => {
  const records = new Map<string, InstanceRecord>([['web-0', { id: 'web-0', workload: 'web', revision: 'aaaaaaaa', restarts: 0, crashStreak: 0, restartRequested: true }]]);
  const run = createExecutors(context(records, fakeRuntime(() => false), []));
  await run.start({ kind: 'start', instance: desired('aaaaaaaa'), reason: 'restart' }, signal);
  t.like(records.get('web-0'), { restarts: 0, restartRequested: false });
  await run.start({ kind: 'start', instance: desired('aaaaaaaa'), reason: 'restart' }, signal);
  t.is(records.get('web-0')?.restarts, 1, 'a restart after a crash is counted');
});

test('a new revision starts with no restarts and no crash streak: its first failure waits the base delay (issue 12)', async (t) => {
  const records = new Map<string, InstanceRecord>([['web-0', { id: 'web-0', workload: 'web', revision: 'aaaaaaaa', restarts: 7, crashStreak: 5, nextStartAt: NOW + 160_000 }]]);
  const events: Omit<DeviceEvent, 'time'>[] = [];
  const run = createExecutors(context(records, fakeRuntime(() => true), events));
  await run.start({ kind: 'start', instance: desired('bbbbbbbb'), reason: 'replace' }, signal);
  t.like(records.get('web-0'), { revision: 'bbbbbbbb', restarts: 0, crashStreak: 1, nextStartAt: NOW + 10_000 });
  t.regex(events.at(-1)?.message ?? '', /retrying in 10 s/);
});

test('removing an instance that is no longer desired releases its metrics folder; a replaced revision keeps it', async (t) => {
  const records = new Map<string, InstanceRecord>([['web-0', { id: 'web-0', workload: 'web', restarts: 0, crashStreak: 0 }]]);
  const released: string[] = [];
  const run = createExecutors(context(records, fakeRuntime(() => false), [], released));
  await run.remove({ kind: 'remove', id: 'web-0', revision: 'aaaaaaaa', reason: 'replaced by revision bbbbbbbb' }, signal);
  t.deepEqual(released, []);
  await run.remove({ kind: 'remove', id: 'web-0', revision: 'bbbbbbbb', reason: 'no longer desired', forget: true }, signal);
  t.deepEqual(released, ['web-0']);
  t.false(records.has('web-0'));
});

test('a stop for a failed liveness probe is a Warning event; any other stop is Normal (the step says which, not its text)', async (t) => {
  const records = new Map<string, InstanceRecord>([['web-0', { id: 'web-0', workload: 'web', restarts: 0, crashStreak: 0 }]]);
  const events: Omit<DeviceEvent, 'time'>[] = [];
  const run = createExecutors(context(records, fakeRuntime(() => false), events));
  await run.stop({ kind: 'stop', id: 'web-0', revision: 'aaaaaaaa', graceSeconds: 1, reason: 'probe said no', unhealthy: true }, signal);
  await run.stop({ kind: 'stop', id: 'web-0', revision: 'aaaaaaaa', graceSeconds: 1, reason: 'liveness of a neighbour' }, signal);
  t.deepEqual(events.map((e) => [e.reason, e.type]), [['Killing', 'Warning'], ['Killing', 'Normal']]);
});
