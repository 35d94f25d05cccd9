import test from 'ava';
import type { RolloutDeviceInfo } from '../../../../src/scheduler/index.js';
import { hardwareClassKey, placeLateJoiner, planWaves } from '../../../../src/scheduler/index.js';
import { hw, spec } from './fixtures.js';

const dev = (id: string, labels: Record<string, string> = {}, over: Partial<RolloutDeviceInfo> = {}): RolloutDeviceInfo => ({
  id,
  labels: { site: 'plant-3', ...labels },
  online: true,
  hardware: hw(),
  ...over,
});
const fleet = (n: number): RolloutDeviceInfo[] => Array.from({ length: n }, (_, i) => dev(`d${String(i).padStart(2, '0')}`));

test('count takes that many; percent takes a share of what is left (rounded up); the last wave takes the rest', (t) => {
  const plan = planWaves(spec({ waves: [{ count: 2 }, { percent: 25 }, { percent: 50 }, { count: 1 }] }), fleet(10));
  // 10 → 2 | ceil(25% of 8) = 2 | ceil(50% of 6) = 3 | 1 + the 2 left over
  t.deepEqual(plan.waves.map((w) => w.length), [2, 2, 3, 3]);
  t.deepEqual(plan.waves[0], ['d00', 'd01']);
  t.deepEqual(plan.waves.flat().sort(), fleet(10).map((d) => d.id));
  t.is(plan.target.length, 10);
});

test('planning is deterministic whatever order the devices come in, and prefers online devices for count waves', (t) => {
  const devices = fleet(6).map((d) => (d.id === 'd00' ? { ...d, online: false } : d));
  const s = spec({ waves: [{ count: 2 }, { percent: 100 }] });
  const a = planWaves(s, devices);
  const b = planWaves(s, [...devices].reverse());
  t.deepEqual(a, b);
  t.deepEqual(a.waves[0], ['d01', 'd02'], 'the offline d00 is not spent on the first wave');
});

test('selector waves take their matches among the devices not yet taken; devices outside the target are ignored', (t) => {
  const devices = [dev('a', { line: '1' }), dev('b', { line: '2' }), dev('c', { line: '1' }), dev('x', { site: 'plant-9', line: '1' })];
  const plan = planWaves(spec({ waves: [{ count: 1 }, { selector: { matchLabels: { line: '1' } } }, { percent: 100 }] }), devices);
  t.deepEqual(plan.waves, [['a'], ['c'], ['b']]);
});

test('the canary wave takes one device of every hardware class (arch, board, MCU models and firmware), online first', (t) => {
  const stm = (v: string) => hw('gw', [{ model: 'stm32f103', firmwareVersion: v }]);
  const devices = [
    dev('a1', {}, { online: false }),
    dev('a2'),
    dev('a3'),
    dev('b1', {}, { hardware: { arch: 'armv7', board: 'rpi3', mcus: [] } }),
    dev('c1', {}, { hardware: stm('2.0.0') }),
    dev('c2', {}, { hardware: stm('2.0.0') }),
    dev('d1', {}, { hardware: stm('1.9.0') }),
  ];
  const plan = planWaves(spec({ waves: [{ canary: 'coverHardwareClasses' }, { percent: 100 }] }), devices);
  t.deepEqual(plan.waves[0], ['a2', 'b1', 'c1', 'd1']);
  t.deepEqual(plan.waves[1], ['a1', 'a3', 'c2']);
  t.not(hardwareClassKey(stm('2.0.0')), hardwareClassKey(stm('1.9.0')));
  t.is(hardwareClassKey(hw('x', [{ model: 'b', firmwareVersion: '1' }, { model: 'a', firmwareVersion: '1' }])), hardwareClassKey(hw('x', [{ model: 'a', firmwareVersion: '1' }, { model: 'b', firmwareVersion: '1' }])));
});

test('the gate wave is the bench: matched by its selector, outside the target and its counts', (t) => {
  const devices = [dev('bench-1', { role: 'bench' }), dev('bench-2', { role: 'bench', site: 'lab' }), ...fleet(4)];
  const plan = planWaves(spec({ waves: [{ gate: 'hil', selector: { matchLabels: { role: 'bench' } } }, { percent: 50 }, { percent: 100 }] }), devices);
  t.deepEqual(plan.waves[0], ['bench-1', 'bench-2']);
  t.deepEqual(plan.bench, ['bench-1', 'bench-2']);
  t.deepEqual(plan.waves[1], ['d00', 'd01'], '50 % of the 4 target devices; bench-1 matches the target selector but is not in it');
  t.is(plan.target.length, 4);
});

test('waves with no devices are planned empty (count 0, a selector nothing matches)', (t) => {
  const plan = planWaves(spec({ waves: [{ count: 0 }, { selector: { matchLabels: { line: 'none' } } }, { percent: 100 }] }), fleet(3));
  t.deepEqual(plan.waves.map((w) => w.length), [0, 0, 3]);
});

test('late joiners: a matching unfinished selector wave, else the canary for a new class, else the current or next count/percent wave, else the last', (t) => {
  const s = spec({ waves: [{ canary: 'coverHardwareClasses' }, { selector: { matchLabels: { line: '1' } } }, { percent: 50 }, { percent: 100 }] });
  const waves = (...states: ('pending' | 'active' | 'succeeded')[]) => ({ waves: states.map((state) => ({ state })) });
  const covered = new Set([hardwareClassKey(hw())]);
  const newClass = dev('n', {}, { hardware: hw('other-board') });
  t.is(placeLateJoiner(s, waves('active', 'pending', 'pending', 'pending'), newClass, covered), 0, 'new hardware class → canary');
  t.is(placeLateJoiner(s, waves('active', 'pending', 'pending', 'pending'), dev('k'), covered), 2, 'known class → first count/percent wave');
  t.is(placeLateJoiner(s, waves('active', 'pending', 'pending', 'pending'), dev('l', { line: '1' }), covered), 1, 'matches the selector wave');
  t.is(placeLateJoiner(s, waves('succeeded', 'succeeded', 'active', 'pending'), newClass, covered), 2, 'canary over: the current wave');
  t.is(placeLateJoiner(s, waves('succeeded', 'succeeded', 'succeeded', 'succeeded'), dev('z'), covered), 3, 'all done: the last wave (straggler)');
});
