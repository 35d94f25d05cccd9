import test from 'ava';
import type { RolloutCommand } from '../../../../src/protocol/index.js';
import { rolloutStateSchema } from '../../../../src/protocol/index.js';
import { step } from '../../../../src/scheduler/index.js';
import type { Driver } from './fixtures.js';
import { Fleet, input, newRollout, sec, settle, simDevice, spec, states, t0, v1 } from './fixtures.js';

const twoSites = (): Fleet =>
  new Fleet([
    simDevice('gw-a', { app: 'tilt', site: 'plant-3' }),
    simDevice('gw-b', { app: 'tilt', site: 'plant-3' }),
    simDevice('gw-c', { app: 'tilt', site: 'plant-4' }),
    simDevice('gw-d', { app: 'tilt', site: 'plant-4' }),
  ]);
const soak = { minHealthySeconds: 30, healthyDeadlineSeconds: 120, progressDeadlineSeconds: 600 };
const threeWaves = spec({
  selector: { matchLabels: { app: 'tilt' } },
  waves: [{ count: 1, ...soak }, { selector: { matchLabels: { site: 'plant-4' } }, maxUnavailable: 2, ...soak }, { percent: 100, ...soak }],
});
const installs = (fleet: Fleet): Record<string, number> => Object.fromEntries([...fleet.devices.values()].map((d) => [d.id, d.installs]));

test('must-show 1: three waves advance on health; each device is updated only in its wave; the new release everywhere', (t) => {
  const fleet = twoSites();
  const driver: Driver = { state: newRollout(threeWaves, fleet), results: [] };
  t.deepEqual(
    Object.entries(driver.state.status.devices).map(([id, d]) => [id, d.wave]),
    [['gw-a', 0], ['gw-c', 1], ['gw-d', 1], ['gw-b', 2]],
  );
  settle(driver, fleet, t0);
  t.deepEqual(installs(fleet), { 'gw-a': 1, 'gw-b': 0, 'gw-c': 0, 'gw-d': 0 }, 'wave 0 only');
  t.deepEqual(states(driver.state), { 'gw-a': 'verifying', 'gw-b': 'pending', 'gw-c': 'pending', 'gw-d': 'pending' });
  settle(driver, fleet, t0 + sec(29));
  t.is(driver.state.status.currentWave, 0, 'soak not over');
  settle(driver, fleet, t0 + sec(30));
  t.deepEqual(installs(fleet), { 'gw-a': 1, 'gw-b': 0, 'gw-c': 1, 'gw-d': 1 }, 'wave 1 (plant-4) both at once: maxUnavailable 2');
  settle(driver, fleet, t0 + sec(60));
  t.deepEqual(installs(fleet), { 'gw-a': 1, 'gw-b': 1, 'gw-c': 1, 'gw-d': 1 });
  settle(driver, fleet, t0 + sec(90));
  t.is(driver.state.status.phase, 'completed');
  t.true([...fleet.devices.values()].every((d) => d.pinned?.version === '2.0.0'));
  t.deepEqual(Object.values(states(driver.state)), ['healthy', 'healthy', 'healthy', 'healthy']);
  t.deepEqual(
    driver.state.status.history.map((h) => h.type),
    ['created', 'started', 'wave-started', 'wave-succeeded', 'wave-started', 'wave-succeeded', 'wave-started', 'wave-succeeded', 'completed'],
  );
  t.deepEqual(rolloutStateSchema.parse(JSON.parse(JSON.stringify(driver.state))), driver.state, 'stored state re-parses to itself');
});

test('must-show 2: a crash-looping canary fails its threshold, touched devices return to the previous release, later waves untouched', (t) => {
  const fleet = new Fleet([
    simDevice('a1', { site: 'plant-3' }, { behaviour: 'crash' }),
    simDevice('a2', { site: 'plant-3' }, { behaviour: 'crash' }),
    simDevice('b1', { site: 'plant-3' }, { behaviour: 'crash', hardware: { arch: 'armv7', board: 'rpi3', mcus: [] } }),
    simDevice('b2', { site: 'plant-3' }, { behaviour: 'crash', hardware: { arch: 'armv7', board: 'rpi3', mcus: [] } }),
  ]);
  const s = spec({ waves: [{ canary: 'coverHardwareClasses', maxUnavailable: '100%' }, { percent: 50 }, { percent: 100 }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  t.deepEqual(driver.state.status.devices.a1?.wave, 0);
  t.deepEqual(driver.state.status.devices.b1?.wave, 0);
  settle(driver, fleet, t0);
  t.is(driver.state.status.phase, 'rolled-back');
  t.deepEqual(states(driver.state), { a1: 'rolled-back', a2: 'pending', b1: 'rolled-back', b2: 'pending' });
  t.deepEqual(fleet.get('a1').pinned, v1);
  t.deepEqual(fleet.get('b1').pinned, v1);
  t.deepEqual(installs(fleet), { a1: 2, a2: 0, b1: 2, b2: 0 }, 'forward once, back once; later waves never touched');
  const reverts = driver.results.flatMap((r) => r.actions).filter((a) => a.type === 'revert');
  t.deepEqual(reverts, [{ type: 'revert', deviceIds: ['a1', 'b1'], toRelease: v1 }]);
  t.regex(driver.state.status.waves[0]?.reason ?? '', /2 device\(s\) failed, more than failure.maxCount 0/);
  t.true(driver.results.some((r) => r.events.some((e) => e.reason === 'DeviceFailed' && /crash-looping/.test(e.message))));
  // Rolled back is terminal: nothing more happens, and it cannot be undone or resumed into a loop.
  t.is(step(driver.state, input(fleet), t0 + sec(3600)).transition, null);
  t.regex(step(driver.state, input(fleet, { command: { type: 'undo' } }), t0).refused?.message ?? '', /is rolled-back: nothing to undo/);
});

test('must-show 6: an agent stopped during its wave is deferred, the rollout completes, and it gets the release when it returns', (t) => {
  const fleet = twoSites();
  const s = spec({ selector: { matchLabels: { app: 'tilt' } }, waves: [{ count: 2, maxUnavailable: 1, ...soak }, { percent: 100, ...soak }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  settle(driver, fleet, t0);
  t.deepEqual(states(driver.state), { 'gw-a': 'verifying', 'gw-b': 'pending', 'gw-c': 'pending', 'gw-d': 'pending' });
  fleet.get('gw-a').online = false; // stopped mid-soak, after its assignment
  fleet.get('gw-b').online = false; // stopped before its turn
  settle(driver, fleet, t0 + sec(10));
  t.deepEqual(states(driver.state), { 'gw-a': 'deferred', 'gw-b': 'deferred', 'gw-c': 'verifying', 'gw-d': 'pending' });
  t.is(driver.state.status.waves[0]?.state, 'succeeded', 'deferred devices do not block the wave (0 reported, minReported 0)');
  settle(driver, fleet, t0 + sec(60));
  settle(driver, fleet, t0 + sec(120));
  t.is(driver.state.status.phase, 'completed');
  t.regex(driver.state.status.history.at(-1)?.message ?? '', /2 healthy, 0 failed, 2 deferred/);
  fleet.get('gw-a').online = true;
  fleet.get('gw-b').online = true;
  settle(driver, fleet, t0 + sec(200));
  t.deepEqual(states(driver.state), { 'gw-a': 'verifying', 'gw-b': 'verifying', 'gw-c': 'healthy', 'gw-d': 'healthy' });
  settle(driver, fleet, t0 + sec(230));
  t.deepEqual(Object.values(states(driver.state)), ['healthy', 'healthy', 'healthy', 'healthy']);
  t.deepEqual(installs(fleet), { 'gw-a': 1, 'gw-b': 1, 'gw-c': 1, 'gw-d': 1 }, 'gw-a was not assigned again');
});

test('a deferred device that returns while the rollout is paused gets nothing until it resumes', (t) => {
  const fleet = twoSites();
  fleet.get('gw-a').online = false;
  const s = spec({ selector: { matchLabels: { app: 'tilt' } }, waves: [{ selector: { matchLabels: { site: 'plant-3' } }, ...soak }, { percent: 100, ...soak }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  settle(driver, fleet, t0);
  t.is(driver.state.status.devices['gw-a']?.state, 'deferred');
  t.is(step(driver.state, input(fleet, { command: { type: 'pause', reason: 'shift change' } }), t0).next.status.phase, 'paused');
  driver.state = step(driver.state, input(fleet, { command: { type: 'pause' } }), t0).next;
  fleet.get('gw-a').online = true;
  settle(driver, fleet, t0 + sec(5));
  t.is(driver.state.status.devices['gw-a']?.state, 'deferred');
  t.is(fleet.get('gw-a').installs, 0);
  const resumed = step(driver.state, input(fleet, { command: { type: 'resume', actor: 'ana' } }), t0 + sec(6));
  driver.state = resumed.next;
  t.is(driver.state.status.history.at(-1)?.actor, 'ana');
  settle(driver, fleet, t0 + sec(7));
  t.is(driver.state.status.devices['gw-a']?.state, 'pending', 'back in its wave, behind gw-b (maxUnavailable 25% of 2 → 1)');
  settle(driver, fleet, t0 + sec(31));
  t.is(fleet.get('gw-a').installs, 1);
});

test('onSuccess: pause waits for promote; resume is refused for it with a hint', (t) => {
  const fleet = twoSites();
  const s = spec({ selector: { matchLabels: { app: 'tilt' } }, waves: [{ count: 1, onSuccess: 'pause', ...soak }, { percent: 100, ...soak }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  settle(driver, fleet, t0);
  settle(driver, fleet, t0 + sec(30));
  t.is(driver.state.status.phase, 'paused');
  t.is(driver.state.status.pause?.kind, 'promotion');
  t.regex(step(driver.state, input(fleet, { command: { type: 'resume' } }), t0).refused?.message ?? '', /use rollout promote/);
  const promoted = step(driver.state, input(fleet, { command: { type: 'promote' } }), t0 + sec(40));
  t.is(promoted.transition, 'command:promote');
  t.is(promoted.next.status.currentWave, 1);
  t.is(promoted.next.status.revision, driver.state.status.revision + 1);
});

test('abort stops where it is: nothing reverts, pending devices never get the release', (t) => {
  const fleet = twoSites();
  const driver: Driver = { state: newRollout(threeWaves, fleet), results: [] };
  settle(driver, fleet, t0);
  const aborted = step(driver.state, input(fleet, { command: { type: 'abort', reason: 'wrong release' } }), t0 + sec(1));
  t.deepEqual(aborted.actions, []);
  driver.state = aborted.next;
  t.is(driver.state.status.phase, 'aborted');
  settle(driver, fleet, t0 + sec(1000));
  t.deepEqual(installs(fleet), { 'gw-a': 1, 'gw-b': 0, 'gw-c': 0, 'gw-d': 0 });
});

test('undo after completion reverts every touched device to what it ran before, in one transition', (t) => {
  const fleet = twoSites();
  fleet.get('gw-d').pinned = null; // ran only the fleet's workloads before
  const driver: Driver = { state: newRollout(spec({ selector: { matchLabels: { app: 'tilt' } }, waves: [{ percent: 100, maxUnavailable: '100%', minHealthySeconds: 0 }] }), fleet), results: [] };
  settle(driver, fleet, t0);
  t.is(driver.state.status.phase, 'completed');
  const undo = step(driver.state, input(fleet, { command: { type: 'undo', reason: 'customer request' } }), t0 + sec(5));
  t.deepEqual(undo.actions, [
    { type: 'revert', deviceIds: ['gw-d'], toRelease: null },
    { type: 'revert', deviceIds: ['gw-a', 'gw-b', 'gw-c'], toRelease: v1 },
  ]);
  t.deepEqual(undo.next.status.outbox, undo.actions);
  t.is(undo.next.status.phase, 'rolled-back');
});

test('a scheduled rollout does nothing before its start time and says when to look again', (t) => {
  const fleet = twoSites();
  const s = spec({ selector: { matchLabels: { app: 'tilt' } }, startAt: new Date(t0 + sec(3600)).toISOString() });
  const state = newRollout(s, fleet);
  const early = step(state, input(fleet), t0);
  t.is(early.transition, null);
  t.is(early.nextCheckAt, t0 + sec(3600));
  t.is(step(state, input(fleet), t0 + sec(3600)).transition, 'start');
});

test('a late joiner is placed in the running wave and updated; a pending device that left the target is dropped', (t) => {
  const fleet = twoSites();
  const s = spec({ selector: { matchLabels: { app: 'tilt' } }, waves: [{ count: 1, ...soak }, { percent: 100, ...soak }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  settle(driver, fleet, t0);
  fleet.devices.set('gw-e', simDevice('gw-e', { app: 'tilt', site: 'plant-4' }));
  fleet.get('gw-d').labels = { app: 'other' };
  const r = step(driver.state, input(fleet), t0 + sec(1));
  t.is(r.transition, 'membership');
  t.deepEqual(r.next.status.devices['gw-e'], { wave: 0, state: 'pending', since: new Date(t0 + sec(1)).toISOString(), late: true });
  t.false('gw-d' in r.next.status.devices);
  driver.state = r.next;
  settle(driver, fleet, t0 + sec(31));
  settle(driver, fleet, t0 + sec(61));
  settle(driver, fleet, t0 + sec(91));
  settle(driver, fleet, t0 + sec(121));
  t.is(driver.state.status.phase, 'completed');
  t.is(fleet.get('gw-e').installs, 1);
  t.is(fleet.get('gw-d').installs, 0);
});

test('pacing: at most maxUnavailable installing, at most maxUnavailable + maxSurge installing or soaking', (t) => {
  const fleet = new Fleet(['a', 'b', 'c', 'd', 'e'].map((id) => simDevice(id, { site: 'plant-3' })));
  const driver: Driver = { state: newRollout(spec({ waves: [{ percent: 100, maxUnavailable: 1, maxSurge: 2, ...soak }] }), fleet), results: [] };
  const assigns = settle(driver, fleet, t0).flatMap((r) => r.actions.filter((a) => a.type === 'assign-release').map((a) => a.deviceIds));
  t.deepEqual(assigns, [['a'], ['b'], ['c']], 'one at a time, each once the previous one runs; then the surge is used up');
  t.deepEqual(states(driver.state), { a: 'verifying', b: 'verifying', c: 'verifying', d: 'pending', e: 'pending' });
  settle(driver, fleet, t0 + sec(30));
  t.is(fleet.get('e').installs, 1);
});

test('a wave with no devices succeeds at once, and the next wave starts in that same transition', (t) => {
  const fleet = twoSites();
  const driver: Driver = { state: newRollout(spec({ selector: { matchLabels: { app: 'tilt' } }, waves: [{ count: 0 }, { percent: 100, maxUnavailable: '100%', minHealthySeconds: 0 }] }), fleet), results: [] };
  const started = step(driver.state, input(fleet), t0);
  t.is(started.transition, 'start');
  const r = step(started.next, input(fleet), t0);
  t.is(r.transition, 'judge');
  t.deepEqual(r.next.status.waves.map((w) => [w.state, w.reason]), [['succeeded', 'no devices in this wave'], ['active', undefined]]);
  driver.state = r.next;
  settle(driver, fleet, t0);
  t.is(driver.state.status.phase, 'completed');
});

test('too few reports pause the wave as inconclusive; promote accepts it and moves on', (t) => {
  const fleet = twoSites();
  fleet.get('gw-a').online = false;
  fleet.get('gw-b').online = false;
  const s = spec({ selector: { matchLabels: { app: 'tilt' } }, waves: [{ selector: { matchLabels: { site: 'plant-3' } }, success: { minReported: 1 }, ...soak }, { percent: 100, ...soak }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  settle(driver, fleet, t0);
  t.is(driver.state.status.pause?.kind, 'inconclusive');
  t.regex(driver.state.status.pause?.reason ?? '', /0 healthy, 0 failed, 2 deferred: only 0 reported, success.minReported is 1/);
  const p = step(driver.state, input(fleet, { command: { type: 'promote' } }), t0 + sec(1));
  t.is(p.next.status.waves[0]?.state, 'succeeded');
  t.is(p.next.status.currentWave, 1);
});

test('refused commands write nothing and say why in one line', (t) => {
  const fleet = twoSites();
  const state = newRollout(threeWaves, fleet);
  const refused = (command: RolloutCommand) => step(state, input(fleet, { command }), t0).refused?.message;
  t.is(refused({ type: 'resume' }), 'rollout tilt-2 is scheduled, not paused');
  t.is(refused({ type: 'promote' }), 'rollout tilt-2 is not waiting for promotion (scheduled)');
  const paused = step(state, input(fleet, { command: { type: 'pause' } }), t0).next;
  t.is(step(paused, input(fleet, { command: { type: 'pause' } }), t0).refused?.message, 'rollout tilt-2 is paused already');
  t.is(step(paused, input(fleet, { command: { type: 'promote' } }), t0).refused?.message, 'rollout tilt-2 is not waiting for promotion (paused by an operator: use resume)');
  t.is(step(paused, input(fleet), t0 + sec(3600)).transition, null, 'paused before the start: nothing starts');
  t.is(step(paused, input(fleet, { command: { type: 'resume' } }), t0).next.status.phase, 'scheduled');
});
