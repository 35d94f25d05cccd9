// Every deadline ends in a definite state: never a silent stall.
import test from 'ava';
import { step } from '../../../../src/scheduler/index.js';
import type { Driver } from './fixtures.js';
import { Fleet, input, newRollout, sec, settle, simDevice, spec, states, t0, window } from './fixtures.js';

const timing = { minHealthySeconds: 30, healthyDeadlineSeconds: 120, progressDeadlineSeconds: 120 };

test('healthyDeadlineSeconds: a device never ready fails exactly at its deadline, and the wave with it', (t) => {
  const fleet = new Fleet([simDevice('a', { site: 'plant-3' }, { behaviour: 'never-ready' }), simDevice('b', { site: 'plant-3' })]);
  const driver: Driver = { state: newRollout(spec({ waves: [{ count: 1, onFailure: 'pause', ...timing }, { percent: 100, ...timing }] }), fleet), results: [] };
  const first = settle(driver, fleet, t0);
  t.is(first.at(-1)?.nextCheckAt, t0 + sec(120), 'the hub is told when to look again');
  settle(driver, fleet, t0 + sec(119));
  t.is(driver.state.status.devices.a?.state, 'updating');
  settle(driver, fleet, t0 + sec(120));
  t.is(driver.state.status.devices.a?.state, 'failed');
  t.regex(driver.state.status.devices.a?.reason ?? '', /^not healthy within healthyDeadlineSeconds \(120s\): waiting for workload tilt-reader to be running and ready/);
  t.is(driver.state.status.phase, 'paused');
  t.is(driver.state.status.pause?.kind, 'failure');
  t.is(fleet.get('b').installs, 0);
});

test('progressDeadlineSeconds: devices that keep dropping off and coming back never settle; the wave fails, then rolls back', (t) => {
  const fleet = new Fleet([simDevice('a', { site: 'plant-3' }), simDevice('b', { site: 'plant-3' })]);
  const s = spec({ waves: [{ percent: 100, maxUnavailable: '100%', ...timing }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  settle(driver, fleet, t0);
  t.deepEqual(states(driver.state), { a: 'verifying', b: 'verifying' });
  // a and b take turns being offline every 20 s: never 30 s of soak, never both settled.
  for (let k = 1; k <= 5; k++) {
    fleet.get('a').online = k % 2 === 0;
    fleet.get('b').online = k % 2 === 1;
    settle(driver, fleet, t0 + sec(20 * k));
    t.is(driver.state.status.phase, 'progressing', `still running at ${20 * k}s`);
  }
  fleet.get('a').online = true;
  settle(driver, fleet, t0 + sec(125));
  t.is(driver.state.status.phase, 'rolled-back');
  t.regex(driver.state.status.waves[0]?.reason ?? '', /^rolled back|no progress/);
  t.true(driver.state.status.history.some((h) => h.type === 'wave-failed' && /no progress for progressDeadlineSeconds \(120s\)/.test(h.message)));
  t.is(fleet.get('a').installs, 2, 'assigned once, reverted once; returning never re-assigns');
});

test('a closed window holds installs (downloads may start) and does not count against the progress deadline; the install starts when it opens', (t) => {
  const fleet = new Fleet([simDevice('a', { site: 'plant-3' })]);
  const opensAt = t0 + sec(8 * 3600);
  const win = window((_id, now) => now >= opensAt, opensAt);
  const driver: Driver = { state: newRollout(spec({ waves: [{ count: 1, ...timing }] }), fleet), results: [] };
  const first = settle(driver, fleet, t0, { window: win });
  t.is(driver.state.status.devices.a?.state, 'waiting-window');
  t.deepEqual(first.flatMap((r) => r.actions), [
    { type: 'await-window', deviceIds: ['a'], release: { name: 'tilt', version: '2.0.0' }, nextOpen: new Date(opensAt).toISOString() },
  ]);
  t.true(first.some((r) => r.events.some((e) => e.reason === 'WindowClosed')));
  t.is(first.at(-1)?.nextCheckAt, opensAt);
  settle(driver, fleet, opensAt - 1, { window: win });
  t.is(driver.state.status.phase, 'progressing');
  t.is(fleet.get('a').installs, 0);
  settle(driver, fleet, opensAt, { window: win });
  t.is(driver.state.status.devices.a?.state, 'verifying');
  t.is(fleet.get('a').installs, 1);
});

test('a window that will never open defers the device instead of stalling the wave', (t) => {
  const fleet = new Fleet([simDevice('a', { site: 'plant-3' }), simDevice('b', { site: 'plant-3' })]);
  const driver: Driver = { state: newRollout(spec({ waves: [{ percent: 100, maxUnavailable: '100%', ...timing }] }), fleet), results: [] };
  settle(driver, fleet, t0, { window: window((id) => id !== 'a', null) });
  t.is(driver.state.status.devices.a?.state, 'deferred');
  t.is(driver.state.status.devices.a?.reason, 'no maintenance window will open for it');
  settle(driver, fleet, t0 + sec(30), { window: window((id) => id !== 'a', null) });
  t.is(driver.state.status.phase, 'completed');
});

test('a deadline that passed while nobody looked is applied on the next call, and a soak completed before it still counts', (t) => {
  const fleet = new Fleet([simDevice('a', { site: 'plant-3' })]);
  const driver: Driver = { state: newRollout(spec({ waves: [{ count: 1, ...timing }] }), fleet), results: [] };
  settle(driver, fleet, t0);
  t.is(driver.state.status.devices.a?.state, 'verifying');
  const late = step(driver.state, input(fleet), t0 + sec(3600));
  t.is(late.next.status.devices.a?.state, 'healthy', 'soak ended at 30 s, before the 120 s deadline');
});
