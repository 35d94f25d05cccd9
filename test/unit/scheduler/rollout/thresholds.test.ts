import test from 'ava';
import type { WaveCounts } from '../../../../src/scheduler/index.js';
import { judgeGate, judgeWave, resolveCountOrPercent } from '../../../../src/scheduler/index.js';
import { spec } from './fixtures.js';

const counts = (c: Partial<WaveCounts>): WaveCounts => {
  const base = { pending: 0, waitingWindow: 0, inFlight: 0, updating: 0, healthy: 0, failed: 0, deferred: 0, rolledBack: 0, ...c };
  return { ...base, total: base.pending + base.waitingWindow + base.inFlight + base.healthy + base.failed + base.deferred + base.rolledBack };
};
const wave = (w: Record<string, unknown>) => {
  const parsed = spec({ waves: [{ count: 10, ...w }] }).waves[0];
  if (parsed === undefined) throw new Error('no wave');
  return parsed;
};

test('by default one failure fails the wave at once, even while others are still in flight', (t) => {
  t.deepEqual(judgeWave(counts({ failed: 1, inFlight: 5 }), wave({})), { kind: 'failed', reason: '1 device(s) failed, more than failure.maxCount 0' });
});

test('failure.maxPercent is judged only after minReported devices reported', (t) => {
  const w = wave({ failure: { maxPercent: 5, minReported: 20 } });
  t.deepEqual(judgeWave(counts({ failed: 3, healthy: 10, inFlight: 30 }), w), { kind: 'running' }, '3 of 13 is 23 %, but only 13 reported');
  t.deepEqual(judgeWave(counts({ failed: 3, healthy: 17, inFlight: 30 }), w), {
    kind: 'failed',
    reason: '3 of 20 reporting devices failed (15%), more than failure.maxPercent 5%',
  });
  t.deepEqual(judgeWave(counts({ failed: 1, healthy: 19, inFlight: 30 }), w), { kind: 'running' }, '5 % is not more than 5 %');
});

test('failure.maxCount and maxPercent together: either exceeded fails', (t) => {
  const w = wave({ failure: { maxCount: 2, maxPercent: 50 } });
  t.is(judgeWave(counts({ failed: 2, healthy: 10, inFlight: 1 }), w).kind, 'running');
  t.is(judgeWave(counts({ failed: 3, healthy: 100 }), w).kind, 'failed');
  t.is(judgeWave(counts({ failed: 2, healthy: 1 }), w).kind, 'failed');
});

test('success is judged once every device settled; deferred devices neither block nor count', (t) => {
  const w = wave({ success: { minPercent: 90 }, failure: { maxPercent: 20 } });
  t.deepEqual(judgeWave(counts({ healthy: 9, pending: 1 }), w), { kind: 'running' });
  t.deepEqual(judgeWave(counts({ healthy: 9, failed: 1, deferred: 5 }), w), { kind: 'succeeded', reason: '9 healthy, 1 failed, 5 deferred' });
  t.deepEqual(judgeWave(counts({ healthy: 8, failed: 2 }), w), { kind: 'failed', reason: '8 healthy, 2 failed, 0 deferred: 80% healthy, below success.minPercent 90%' });
});

test('success.minReported: too few reports make the wave inconclusive (a pause), not a pass', (t) => {
  const w = wave({ success: { minReported: 3 } });
  t.deepEqual(judgeWave(counts({ healthy: 2, deferred: 8 }), w), { kind: 'inconclusive', reason: '2 healthy, 0 failed, 8 deferred: only 2 reported, success.minReported is 3' });
  t.deepEqual(judgeWave(counts({ deferred: 8 }), wave({})), { kind: 'succeeded', reason: '0 healthy, 0 failed, 8 deferred' }, 'default minReported 0');
  t.deepEqual(judgeWave(counts({ healthy: 1, deferred: 2 }), wave({ success: { minCount: 2 } })), {
    kind: 'failed',
    reason: '1 healthy, 0 failed, 2 deferred: fewer than success.minCount 2 healthy',
  });
});

test('a wave with no devices succeeds at once and says so', (t) => {
  t.deepEqual(judgeWave(counts({}), wave({ success: { minReported: 5, minCount: 3 } })), { kind: 'succeeded', reason: 'no devices in this wave' });
});

test('the gate passes only on evidence', (t) => {
  t.deepEqual(judgeGate(counts({ healthy: 1, deferred: 1 })), { kind: 'succeeded', reason: '1 bench device(s) passed, 1 deferred' });
  t.is(judgeGate(counts({ deferred: 2 })).kind, 'failed');
  t.is(judgeGate(counts({})).kind, 'failed');
  t.is(judgeGate(counts({ healthy: 3, failed: 1, inFlight: 1 })).kind, 'failed');
  t.is(judgeGate(counts({ healthy: 3, inFlight: 1 })).kind, 'running');
});

test('maxUnavailable as a count or a percentage of the wave (rounded down, at least 1)', (t) => {
  t.is(resolveCountOrPercent(3, 100), 3);
  t.is(resolveCountOrPercent('25%', 10), 2);
  t.is(resolveCountOrPercent('25%', 2), 1);
  t.is(resolveCountOrPercent('0%', 10), 0);
  t.is(resolveCountOrPercent('100%', 7), 7);
});
