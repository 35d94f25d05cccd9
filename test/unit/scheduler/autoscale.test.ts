import test from 'ava';
import type { Autoscale } from '../../../src/protocol/index.js';
import { autoscaleSchema } from '../../../src/protocol/index.js';
import type { AutoscaleInput, Recommendation } from '../../../src/scheduler/index.js';
import { decideReplicas } from '../../../src/scheduler/index.js';
import { now } from './fixtures.js';

const cpu50: Autoscale = autoscaleSchema.parse({ min: 1, max: 10, targetCPUPercent: 50, stabilizationSeconds: 300 });
const decide = (over: Partial<AutoscaleInput>) => decideReplicas({ autoscale: cpu50, currentReplicas: 4, samples: [], history: [], now, ...over });
const all = (n: number, v: number): number[] => Array.from({ length: n }, () => v);

test('scale up immediately: ceil(current × average / target)', (t) => {
  const d = decide({ samples: all(4, 80) });
  t.is(d.desired, 7); // ceil(4 × 80/50 = 6.4)
  t.is(d.recommendation, 7);
  t.is(d.reason, 'scale up to 7');
  t.deepEqual(d.history, [{ at: now, replicas: 7 }]);
});

test('a 10 % tolerance band: no change for small deviations', (t) => {
  t.is(decide({ samples: all(4, 54) }).desired, 4);
  t.is(decide({ samples: all(4, 54) }).reason, 'within tolerance');
  t.is(decide({ samples: all(4, 46) }).desired, 4);
  t.is(decide({ samples: all(4, 56) }).desired, 5);
});

test('clamped to [min, max]', (t) => {
  const up = decide({ samples: all(4, 500) });
  t.is(up.desired, 10);
  t.is(up.reason, 'scale up to 40, clamped to [1, 10]');
  t.is(decide({ samples: all(4, 1) }).desired, 1);
  t.is(decide({ currentReplicas: 12, samples: all(12, 50) }).desired, 10);
  t.is(decide({ currentReplicas: 0 }).desired, 0, 'scaled to zero by hand: paused, as HPA');
});

test('scale down waits for the stabilization window: the highest recent recommendation wins', (t) => {
  let history: readonly Recommendation[] = [];
  const step = (at: number, current: number, value: number) => {
    const d = decideReplicas({ autoscale: cpu50, currentReplicas: current, samples: all(current, value), history, now: at });
    history = d.history;
    return d;
  };
  t.is(step(now, 4, 100).desired, 8); // load spike
  const calm = step(now + 60_000, 8, 10); // recommendation 2, but 8 was recommended 60 s ago
  t.is(calm.recommendation, 2);
  t.is(calm.desired, 8);
  t.is(calm.reason, 'scale-down held by the 300s stabilization window at 8');
  t.is(step(now + 299_000, 8, 10).desired, 8);
  const later = step(now + 300_000, 8, 10); // the spike's recommendation is now outside the window
  t.is(later.desired, 2);
  t.deepEqual(later.history.map((h) => h.replicas), [2, 2, 2]);
});

test('missing samples dampen the move (assumed 0 % when scaling up, at target when scaling down)', (t) => {
  // 2 of 4 replicas report 100 %: as if 4 × (200/4)/50 = 4 → no change.
  t.is(decide({ samples: [100, 100] }).desired, 4);
  // 2 of 4 report 0 %: the missing two count at target: ceil(4 × (100/4)/50) = 2.
  t.is(decide({ samples: [0, 0] }).desired, 2);
  t.is(decide({ samples: [] }).reason, 'no metrics: unchanged');
});

test('a custom metric target', (t) => {
  const queue = autoscaleSchema.parse({ min: 1, max: 20, metric: { name: 'queue_depth', targetAverage: 10 } });
  t.is(decideReplicas({ autoscale: queue, currentReplicas: 2, samples: [30, 30], history: [], now }).desired, 6);
});
