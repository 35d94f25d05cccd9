// What a step costs at fleet scale, counted (never timed): how many of the rollout's device
// entries a call reads. A call that changes nothing (every pass ends with one, and most calls
// while a wave's reports trickle in are such) looks at the current wave's in-flight devices, not
// at the pending devices of later waves: its reads do not grow with them.
import test from 'ava';
import type { RolloutState } from '../../../../src/protocol/index.js';
import { step, type StepInput } from '../../../../src/scheduler/index.js';
import { Fleet, input, newRollout, settle, simDevice, spec, t0, type Driver } from './fixtures.js';

/** The rollout with its device map behind a proxy that counts reads of it (entries, keys). */
function counted(state: RolloutState): { state: RolloutState; reads: { n: number } } {
  const reads = { n: 0 };
  const devices = new Proxy(state.status.devices, {
    get: (target, key, receiver) => ((reads.n += 1), Reflect.get(target, key, receiver)),
    ownKeys: (target) => ((reads.n += Object.keys(target).length), Reflect.ownKeys(target)),
    has: (target, key) => ((reads.n += 1), Reflect.has(target, key)),
  });
  return { state: { ...state, status: { ...state.status, devices } }, reads };
}

/** A rollout whose first wave (10 devices) is soaking, with `later` devices pending in the next wave. */
function soaking(later: number): { driver: Driver; input: StepInput } {
  const ids = Array.from({ length: 10 + later }, (_, i) => `dev-${String(i).padStart(5, '0')}`);
  const fleet = new Fleet(ids.map((id) => simDevice(id, { site: 'plant-3' })));
  const s = spec({ waves: [{ count: 10, maxUnavailable: '100%', minHealthySeconds: 60 }, { percent: 100 }] });
  const driver: Driver = { state: newRollout(s, fleet), results: [] };
  settle(driver, fleet, t0);
  return { driver, input: input(fleet) };
}

function readsOfIdleStep(later: number): { reads: number; states: Record<string, number> } {
  const { driver, input: given } = soaking(later);
  const { state, reads } = counted(driver.state);
  // The first call over a device map and a list of observations indexes them (once per map and
  // list: the hub hands both on from call to call); the second is what each further call costs.
  t0Step(state, given);
  reads.n = 0;
  const r = t0Step(state, given);
  if (r.transition !== null) throw new Error(`expected no transition, got ${r.transition}`);
  const states: Record<string, number> = {};
  for (const d of Object.values(driver.state.status.devices)) states[d.state] = (states[d.state] ?? 0) + 1;
  return { reads: reads.n, states };
}

const t0Step = (state: RolloutState, given: StepInput) => step(state, given, t0 + 1000);

test('a step that changes nothing reads the current wave, not the pending devices of later waves', (t) => {
  const small = readsOfIdleStep(100);
  const large = readsOfIdleStep(2000);
  t.deepEqual(small.states, { verifying: 10, pending: 100 });
  t.deepEqual(large.states, { verifying: 10, pending: 2000 });
  t.is(large.reads, small.reads, `${small.reads} reads with 100 pending devices, ${large.reads} with 2,000`);
  t.true(large.reads <= 10 * 6, `${large.reads} reads for a wave of 10 in flight`);
});

test('the step decides the same on an indexed device map and on a fresh copy of it', (t) => {
  const { driver, input: given } = soaking(50);
  const indexed = driver.state;
  step(indexed, given, t0 + 1000);
  const fresh: RolloutState = { ...indexed, status: { ...indexed.status, devices: { ...indexed.status.devices } } };
  for (const now of [t0 + 1000, t0 + 61_000, t0 + 700_000]) {
    const a = step(indexed, given, now);
    const b = step(fresh, given, now);
    t.deepEqual(a.next, b.next);
    t.deepEqual(a.actions, b.actions);
    t.is(a.nextCheckAt, b.nextCheckAt);
  }
});
