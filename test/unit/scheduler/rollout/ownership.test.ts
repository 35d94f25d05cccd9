import test from 'ava';
import type { RolloutState } from '../../../../src/protocol/index.js';
import { ownedDevices, ownershipConflicts, ownershipRefusal } from '../../../../src/scheduler/index.js';
import { Fleet, newRollout, simDevice, spec } from './fixtures.js';

const fleet = new Fleet(['a', 'b', 'c', 'd', 'e'].map((id) => simDevice(id, { site: id < 'd' ? 'plant-3' : 'plant-4' })));
const withPhase = (r: RolloutState, phase: RolloutState['status']['phase'], states: Record<string, RolloutState['status']['devices'][string]['state']> = {}): RolloutState => ({
  ...r,
  status: {
    ...r.status,
    phase,
    devices: Object.fromEntries(Object.entries(r.status.devices).map(([id, d]) => [id, { ...d, state: states[id] ?? d.state }])),
  },
});

test('a live rollout owns its devices; a second rollout over them is refused naming the owner', (t) => {
  const first = newRollout(spec({ waves: [{ percent: 100 }] }), fleet, undefined, 'tilt-2-1');
  t.deepEqual(ownedDevices(first), ['a', 'b', 'c']);
  const conflicts = ownershipConflicts([first], ['c', 'd', 'e', 'a']);
  t.deepEqual(conflicts, [
    { deviceId: 'a', owner: 'tilt-2-1' },
    { deviceId: 'c', owner: 'tilt-2-1' },
  ]);
  t.is(ownershipRefusal(conflicts), 'refused: rollout tilt-2-1 owns 2 of its devices (a, c); wait for it to finish, or abort it first');
  t.is(ownershipRefusal([]), undefined);
  t.deepEqual(ownershipConflicts([first], ['a'], 'tilt-2-1'), [], 'a rollout does not conflict with itself');
});

test('a completed rollout owns only the devices it still owes the release; rolled-back and aborted ones own none', (t) => {
  const r = newRollout(spec({ waves: [{ percent: 100 }] }), fleet, undefined, 'tilt-2-1');
  t.deepEqual(ownedDevices(withPhase(r, 'completed', { a: 'healthy', b: 'deferred', c: 'failed' })), ['b']);
  t.deepEqual(ownedDevices(withPhase(r, 'rolled-back')), []);
  t.deepEqual(ownedDevices(withPhase(r, 'aborted')), []);
  t.deepEqual(ownedDevices(withPhase(r, 'paused')), ['a', 'b', 'c']);
});

test('many devices of several owners: one line, counted per owner', (t) => {
  const many = Array.from({ length: 6 }, (_, i) => ({ deviceId: `gw-${i}`, owner: i < 5 ? 'tilt-2-1' : 'fw-3' }));
  t.is(ownershipRefusal(many), 'refused: rollout tilt-2-1 owns 5 of its devices (gw-0, gw-1, gw-2, and 2 more); rollout fw-3 owns 1 of its devices (gw-5); wait for them to finish, or abort them first');
});
