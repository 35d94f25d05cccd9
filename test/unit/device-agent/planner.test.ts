import test from 'ava';
import { plan, nextWake, exitKey } from '../../../src/device-agent/reconcile/planner.js';
import { backoffDelay } from '../../../src/device-agent/reconcile/backoff.js';
import { kubernetesBackoff, observedKey, type InstanceHealth, type InstanceRecord, type PlanInput } from '../../../src/device-agent/reconcile/model.js';
import type { ObservedInstance } from '../../../src/device-agent/runtime/runtime.js';
import { templateManifestSchema, type DesiredInstance } from '../../../src/protocol/index.js';

const NOW = 1_000_000_000;

function desired(id: string, revision = 'aaaaaaaa', template: Record<string, unknown> = {}): DesiredInstance {
  return { id, workload: id, revision, template: templateManifestSchema.parse({ runtime: 'container', image: 'local/busybox:latest', ...template }) };
}

function observed(id: string, state: ObservedInstance['state'], extra: Partial<ObservedInstance> = {}): ObservedInstance {
  return { id, workload: id, revision: 'aaaaaaaa', runtime: 'container', state, containerId: `c-${id}`, ...extra };
}

function input(over: Partial<PlanInput>): PlanInput {
  return { now: NOW, desired: [], observed: [], records: new Map(), health: new Map(), runtimes: { container: true, process: true }, backoff: kubernetesBackoff, ...over };
}

const record = (r: Partial<InstanceRecord> & { id: string }): Map<string, InstanceRecord> => new Map([[r.id, { workload: r.id, restarts: 0, crashStreak: 0, ...r }]]);

test('a new instance is started', (t) => {
  const d = desired('web');
  t.deepEqual(plan(input({ desired: [d] })), [{ kind: 'start', instance: d, reason: 'create' }]);
});

test('a running instance at the desired revision needs nothing (converged)', (t) => {
  t.deepEqual(plan(input({ desired: [desired('web')], observed: [observed('web', 'running')] })), []);
});

test('an exit is accounted once, with the first backoff delay', (t) => {
  const exited = observed('web', 'exited', { exitCode: 1, finishedAt: new Date(NOW - 1000) });
  const steps = plan(input({ desired: [desired('web')], observed: [exited], records: record({ id: 'web', lastStartedAt: NOW - 5000 }) }));
  t.deepEqual(steps, [{ kind: 'record-exit', observed: exited, crashed: true, nextStartAt: NOW - 1000 + 10_000, crashStreak: 1 }]);
});

test('after the exit is accounted, the loop waits out the backoff, then restarts', (t) => {
  const exited = observed('web', 'exited', { exitCode: 1, finishedAt: new Date(NOW - 1000) });
  const records = record({ id: 'web', crashStreak: 1, lastExitKey: exitKey(exited), nextStartAt: NOW + 9000 });
  const waiting = plan(input({ desired: [desired('web')], observed: [exited], records }));
  t.deepEqual(waiting, [{ kind: 'wait', id: 'web', until: NOW + 9000, reason: 'crash-loop backoff' }]);
  t.is(nextWake(waiting), NOW + 9000);
  const later = plan(input({ now: NOW + 9000, desired: [desired('web')], observed: [exited], records }));
  t.deepEqual(later.map((s) => s.kind), ['remove', 'start']);
  t.like(later[1], { kind: 'start', reason: 'restart' });
});

test('a backoff deadline further ahead than the longest backoff (the clock stepped back since) is not waited for', (t) => {
  const exited = observed('web', 'exited', { exitCode: 1, finishedAt: new Date(NOW - 1000) });
  // Set at NOW + 9 s; then NTP stepped the clock back six hours.
  const records = record({ id: 'web', crashStreak: 1, lastExitKey: exitKey(exited), nextStartAt: NOW + 9000 });
  const stepped = plan(input({ now: NOW - 6 * 3600_000, desired: [desired('web')], observed: [exited], records }));
  t.deepEqual(stepped.map((s) => s.kind), ['remove', 'start']);
  // A failed start's backoff, likewise.
  const failed = record({ id: 'web', revision: 'aaaaaaaa', nextStartAt: NOW + 9000, lastError: 'pull failed' });
  t.deepEqual(plan(input({ now: NOW - 6 * 3600_000, desired: [desired('web')], records: failed })).map((s) => s.kind), ['start']);
  t.deepEqual(plan(input({ now: NOW, desired: [desired('web')], records: failed })).map((s) => s.kind), ['wait']);
});

test('backoff doubles from the base to the cap; a long healthy run resets the streak', (t) => {
  t.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, kubernetesBackoff)), [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  const exited = observed('web', 'exited', { exitCode: 1, finishedAt: new Date(NOW) });
  const longRun = plan(input({ desired: [desired('web')], observed: [exited], records: record({ id: 'web', crashStreak: 6, lastStartedAt: NOW - 11 * 60_000 }) }));
  t.like(longRun[0], { kind: 'record-exit', crashStreak: 1, nextStartAt: NOW + 10_000 });
  const shortRun = plan(input({ desired: [desired('web')], observed: [exited], records: record({ id: 'web', crashStreak: 2, lastStartedAt: NOW - 1000 }) }));
  t.like(shortRun[0], { kind: 'record-exit', crashStreak: 3, nextStartAt: NOW + 40_000 });
});

test('restart policies: OnFailure leaves a clean exit alone, Never leaves any exit alone', (t) => {
  const clean = observed('job', 'exited', { exitCode: 0, finishedAt: new Date(NOW) });
  const onFailure = desired('job', 'aaaaaaaa', { restartPolicy: 'OnFailure' });
  t.like(plan(input({ desired: [onFailure], observed: [clean] }))[0], { kind: 'record-exit', crashed: false, nextStartAt: undefined });
  t.deepEqual(plan(input({ desired: [onFailure], observed: [clean], records: record({ id: 'job', lastExitKey: exitKey(clean) }) })), []);
  const failed = observed('job', 'exited', { exitCode: 3, finishedAt: new Date(NOW) });
  const never = desired('job', 'aaaaaaaa', { restartPolicy: 'Never' });
  t.deepEqual(plan(input({ desired: [never], observed: [failed], records: record({ id: 'job', lastExitKey: exitKey(failed) }) })), []);
  t.like(plan(input({ desired: [onFailure], observed: [failed] }))[0], { kind: 'record-exit', crashed: true });
});

test('instances nobody wants are stopped and removed', (t) => {
  t.deepEqual(plan(input({ observed: [observed('old', 'running'), observed('gone', 'exited')] })).map((s) => `${s.kind}:${'id' in s ? s.id : ''}`), ['stop:old', 'remove:old', 'remove:gone']);
  const removals = plan(input({ observed: [observed('gone', 'exited')] }));
  t.like(removals[0], { kind: 'remove', forget: true }, 'an instance nobody wants is forgotten, not just removed');
});

test('a new revision starts beside the old one, which goes only when the new one is ready', (t) => {
  const next = desired('web', 'bbbbbbbb', { probes: { readiness: { tcp: { port: 8080 } } } });
  const old = observed('web', 'running');
  t.deepEqual(plan(input({ desired: [next], observed: [old] })), [{ kind: 'start', instance: next, reason: 'replace' }]);
  const fresh = observed('web', 'running', { revision: 'bbbbbbbb', containerId: 'c-new' });
  const notReady: Map<string, InstanceHealth> = new Map([[observedKey(fresh), { live: true, ready: false }]]);
  t.deepEqual(plan(input({ desired: [next], observed: [old, fresh], health: notReady })), []);
  const ready: Map<string, InstanceHealth> = new Map([[observedKey(fresh), { live: true, ready: true }]]);
  t.deepEqual(plan(input({ desired: [next], observed: [old, fresh], health: ready })).map((s) => `${s.kind}:${'revision' in s ? s.revision : ''}`), ['stop:aaaaaaaa', 'remove:aaaaaaaa']);
  const replaced = plan(input({ desired: [next], observed: [old, fresh], health: ready }));
  t.false(replaced.some((s) => s.kind === 'remove' && s.forget === true), 'a replaced revision keeps its record');
});

test('an instance holding a host port or a serial device is replaced stop-first', (t) => {
  const next = desired('gw', 'bbbbbbbb', { serialDevices: ['/dev/ttyUSB0'] });
  const steps = plan(input({ desired: [next], observed: [observed('gw', 'running')] }));
  t.deepEqual(steps.map((s) => s.kind), ['stop', 'remove', 'start']);
});

test('a failed liveness probe stops the instance; the exit then counts as a crash', (t) => {
  const running = observed('web', 'running');
  const health: Map<string, InstanceHealth> = new Map([[observedKey(running), { live: false, ready: true }]]);
  t.like(plan(input({ desired: [desired('web')], observed: [running], health }))[0], { kind: 'stop', reason: 'liveness probe failed', unhealthy: true });
});

test('a requested restart stops the instance and starts it again at once, not as a crash', (t) => {
  const running = observed('web', 'running');
  t.like(plan(input({ desired: [desired('web')], observed: [running], records: record({ id: 'web', restartRequested: true }) }))[0], { kind: 'stop', reason: 'restart requested' });
  const stopped = observed('web', 'exited', { exitCode: 143, finishedAt: new Date(NOW) });
  t.like(plan(input({ desired: [desired('web')], observed: [stopped], records: record({ id: 'web', restartRequested: true, crashStreak: 3 }) }))[0], { kind: 'record-exit', crashed: false, nextStartAt: NOW, crashStreak: 3 });
});

test('a template for a runtime the device lacks fails with the reason', (t) => {
  t.deepEqual(plan(input({ desired: [desired('web')], runtimes: { container: false, process: true } })), [{ kind: 'fail', id: 'web', workload: 'web', reason: 'this device has no container runtime' }]);
});

test('a container created but never started is started afresh, not counted as a crash', (t) => {
  t.deepEqual(plan(input({ desired: [desired('web')], observed: [observed('web', 'created')] })).map((s) => s.kind), ['remove', 'start']);
});

test('after a failed start the loop waits for the backoff before trying again', (t) => {
  const steps = plan(input({ desired: [desired('web')], records: record({ id: 'web', nextStartAt: NOW + 5000, lastError: 'image missing' }) }));
  t.deepEqual(steps, [{ kind: 'wait', id: 'web', until: NOW + 5000, reason: 'image missing' }]);
});

test("a new revision starts at once, not after the old revision's crash-loop backoff (issue 12)", (t) => {
  const failing = record({ id: 'web', revision: 'aaaaaaaa', crashStreak: 3, nextStartAt: NOW + 40_000, lastError: 'exec: "bad": not found', lastStartedAt: NOW - 60_000 });
  const fixed = desired('web', 'bbbbbbbb');
  t.deepEqual(plan(input({ desired: [fixed], records: failing })), [{ kind: 'start', instance: fixed, reason: 'replace' }]);
  const crashedOld = observed('web', 'exited', { exitCode: 1, finishedAt: new Date(NOW - 1000) });
  const looping = record({ id: 'web', revision: 'aaaaaaaa', crashStreak: 4, lastExitKey: exitKey(crashedOld), nextStartAt: NOW + 80_000 });
  t.deepEqual(plan(input({ desired: [fixed], observed: [crashedOld], records: looping })).map((s) => `${s.kind}:${'reason' in s ? s.reason : ''}`), [
    'remove:replaced by revision bbbbbbbb',
    'start:replace',
  ]);
  // The same revision still waits out its own backoff.
  t.like(plan(input({ desired: [desired('web', 'aaaaaaaa')], records: failing }))[0], { kind: 'wait', until: NOW + 40_000 });
});
