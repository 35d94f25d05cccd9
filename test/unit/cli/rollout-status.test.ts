import test from 'ava';
import type { RolloutView } from '../../../src/protocol/index.js';
import { renderRolloutStatus, waveBar, waveSummary } from '../../../src/cli/output/rollout-columns.js';

const counts = (c: Partial<RolloutView['waves'][number]['counts']>): RolloutView['waves'][number]['counts'] => ({
  total: 0, pending: 0, waitingWindow: 0, updating: 0, verifying: 0, healthy: 0, failed: 0, deferred: 0, rolledBack: 0, ...c,
});

const view: RolloutView = {
  name: 'tilt-plant3',
  release: { name: 'tilt', version: '2.1.0' },
  phase: 'progressing',
  currentWave: 1,
  createdAt: '2026-11-30T00:00:00.000Z',
  revision: 7,
  pause: null,
  waves: [
    { index: 0, name: 'canary', state: 'succeeded', counts: counts({ total: 2, healthy: 2 }) },
    { index: 1, name: 'rest', state: 'active', counts: counts({ total: 10, healthy: 5, failed: 1, deferred: 1, updating: 1, pending: 2 }) },
  ],
  devices: [],
  history: [],
};

test('on a terminal each wave gets a bar of healthy, failed, deferred, installing and pending cells', (t) => {
  t.is(waveBar(counts({ total: 10, healthy: 5, failed: 1, deferred: 1, updating: 1, pending: 2 }), 10), '█████✗~▒··');
  const text = renderRolloutStatus(view, true);
  t.regex(text, /^rollout tilt-plant3: tilt@2\.1\.0 progressing/);
  t.regex(text, /wave 1 rest\s+active\s+\[██████████✗✗~~▒▒····\] healthy 5, failed 1, deferred 1, updating 1, pending 2 of 10/);
});

test('piped, one plain line per wave without bars', (t) => {
  const lines = renderRolloutStatus(view, false).split('\n');
  t.is(lines.length, 3);
  t.false(lines.some((l) => l.includes('█')));
  t.regex(lines[1] ?? '', /wave 0 canary\s+succeeded\s+healthy 2 of 2$/);
  t.is(waveSummary(counts({ total: 3, deferred: 3 })), 'healthy 0, deferred 3 of 3');
});

test('devices with a reason worth reading (failed, rolled back, deferred, waiting for a window) get a line each', (t) => {
  const devices: RolloutView['devices'] = [
    { id: 'gw-1', wave: 0, state: 'healthy', since: '2026-11-30T00:00:00.000Z' },
    { id: 'gw-2', wave: 1, state: 'rolled-back', since: '2026-11-30T00:00:00.000Z', reason: 'undone by operator; previous firmware 1.0.0 of stm32f103-01 (stm32f103, sha256 unknown) is not in the firmware store; MCU left at 2.1.0' },
    { id: 'gw-3', wave: 1, state: 'waiting-window', since: '2026-11-30T00:00:00.000Z', reason: 'its maintenance window opens at 2026-12-01T01:00:00.000Z; downloaded' },
  ];
  const lines = renderRolloutStatus({ ...view, devices }, false).split('\n');
  t.is(lines.length, 5);
  t.regex(lines[3] ?? '', /^ {2}gw-2 rolled-back: undone by operator; previous firmware 1\.0\.0 .* MCU left at 2\.1\.0$/);
  t.regex(lines[4] ?? '', /^ {2}gw-3 waiting-window: .*; downloaded$/);
  const many = Array.from({ length: 12 }, (_, i) => ({ id: `d-${i}`, wave: 1, state: 'failed' as const, since: '2026-11-30T00:00:00.000Z', reason: 'crash loop' }));
  t.regex(renderRolloutStatus({ ...view, devices: many }, false), /… and 2 more \(rollout status tilt-plant3 -o json\)$/);
});
