// The fleet benchmarks' simulated device (bench/support/sim-device-runtime.ts): it must speak the
// protocol as an agent does, or the rollout controller's health checks and the hub's convergence
// counts would be measured against something no agent sends.
import test from 'ava';
import { SimDeviceRuntime } from '../../../bench/support/sim-device-runtime.js';
import { reportedStateSchema, templateSchema, topics, type DesiredState, type ReportedState } from '../../../src/protocol/index.js';

const T0 = Date.parse('2026-07-01T00:00:00Z');

function doc(generation: number, revision: string, ids: string[]): Buffer {
  const desired: DesiredState = {
    generation,
    issuedAt: new Date(T0).toISOString(),
    instances: ids.map((id) => ({ id, workload: id, revision, template: templateSchema.parse({ runtime: 'process', command: ['sleep', '1'], probes: { readiness: { exec: { command: ['true'] } } } }) })),
  };
  return Buffer.from(JSON.stringify(desired));
}

function sim(behaviour: 'ready' | 'unready' | 'crash' = 'ready') {
  const clock = { now: T0 };
  const reports: ReportedState[] = [];
  const runtime = new SimDeviceRuntime({ deviceId: 'sim-1', publishReport: async (r) => (reports.push(r), true), now: () => clock.now, behaviour: () => behaviour });
  return { clock, reports, runtime };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a desired document becomes one report: every instance running, ready, started now, restarts 0, schema-valid', async (t) => {
  const s = sim();
  t.true(s.runtime.handleMessage(topics.desired('sim-1'), doc(1, 'aaaa1111', ['a', 'b'])));
  await flush();
  t.is(s.reports.length, 1);
  const report = s.reports[0];
  t.true(reportedStateSchema.safeParse(report).success);
  t.is(report?.observedGeneration, 1);
  t.deepEqual(report?.instances.map((i) => [i.id, i.phase, i.ready, i.restarts, i.startedAt]), [
    ['a', 'running', true, 0, new Date(T0).toISOString()],
    ['b', 'running', true, 0, new Date(T0).toISOString()],
  ]);
  t.is(s.runtime.stats.desiredBytes, doc(1, 'aaaa1111', ['a', 'b']).length);
});

test('older generations and other topics are ignored; a new revision replaces the old one; a malformed document is dropped', async (t) => {
  const s = sim();
  s.runtime.handleMessage(topics.desired('sim-1'), doc(2, 'aaaa1111', ['a']));
  t.false(s.runtime.handleMessage(topics.desired('sim-2'), doc(3, 'bbbb2222', ['a'])));
  s.runtime.handleMessage(topics.desired('sim-1'), doc(1, 'bbbb2222', ['a']));
  s.runtime.handleMessage(topics.desired('sim-1'), Buffer.from('{"generation":9}'));
  await flush();
  t.is(s.runtime.generation, 2);
  t.is(s.runtime.stats.dropped, 1);
  s.runtime.handleMessage(topics.desired('sim-1'), doc(3, 'bbbb2222', ['a']));
  await flush();
  t.deepEqual(s.reports.at(-1)?.instances.map((i) => `${i.id}@${i.revision}:${i.phase}`), ['a@bbbb2222:running']);
  t.deepEqual(s.runtime.instances().map((o) => o.revision), ['bbbb2222']);
});

test('unready instances run but are not ready; crashing ones go into the agent crash-loop backoff', async (t) => {
  const unready = sim('unready');
  unready.runtime.handleMessage(topics.desired('sim-1'), doc(1, 'aaaa1111', ['a']));
  await flush();
  t.like(unready.reports.at(-1)?.instances[0], { phase: 'running', ready: false });

  const crashing = sim('crash');
  crashing.runtime.handleMessage(topics.desired('sim-1'), doc(1, 'aaaa1111', ['a']));
  await flush();
  t.like(crashing.reports.at(-1)?.instances[0], { phase: 'crash-loop', ready: false, lastExitCode: 1, nextRestartAt: new Date(T0 + 10_000).toISOString() });
  crashing.runtime.stop();
});
