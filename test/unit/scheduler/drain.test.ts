import test from 'ava';
import type { DisruptionBudget } from '../../../src/scheduler/index.js';
import { disruptionBudget, planDrain } from '../../../src/scheduler/index.js';
import { device, instance, spec } from './fixtures.js';

const drained = device('edge-1', {
  instances: [instance('web-2', 'web'), instance('web-0', 'web'), instance('web-1', 'web'), instance('db-0', 'db'), instance('log-0', 'log'), instance('x-0', 'gone')],
});
const budgets = (web: number, unavailable = 0): Map<string, DisruptionBudget> =>
  new Map([
    ['web', disruptionBudget(spec({ replicas: 6, updateStrategy: { maxUnavailable: web } }), unavailable)],
    ['db', disruptionBudget(spec({ replicas: 1, updateStrategy: { maxUnavailable: 0 } }), 0)],
    ['log', disruptionBudget(spec({ replicas: 'all' }), 0)],
  ]);

test('drain moves at most maxUnavailable replicas of a workload at a time', (t) => {
  const plan = planDrain({ device: drained, budgets: budgets(2), notReady: new Set() });
  t.deepEqual(plan.move.map((m) => m.instanceId), ['web-0', 'web-1']);
  t.deepEqual(plan.waiting.map((m) => m.instanceId), ['db-0', 'web-2']);
  t.deepEqual(plan.ignored.map((m) => [m.instanceId, m.reason]), [
    ['log-0', 'runs on every device (replicas: all): left in place'],
    ['x-0', 'workload unknown to the hub'],
  ]);
  t.false(plan.complete);
});

test('replicas already unavailable elsewhere use up the budget', (t) => {
  const plan = planDrain({ device: drained, budgets: budgets(2, 1), notReady: new Set() });
  t.deepEqual(plan.move.map((m) => m.instanceId), ['web-0']);
  t.is(plan.waiting.find((w) => w.instanceId === 'web-1')?.reason, 'waiting: 1 of maxUnavailable 2 replicas already unavailable');
});

test('not-ready replicas move regardless of the budget', (t) => {
  const plan = planDrain({ device: drained, budgets: budgets(0, 0), notReady: new Set(['web-1', 'db-0']) });
  t.deepEqual(plan.move.map((m) => m.instanceId), ['db-0', 'web-1']);
  t.deepEqual(plan.waiting.map((m) => m.instanceId), ['web-0', 'web-2']);
});

test('a device with only daemon instances is drained', (t) => {
  const d = device('edge-2', { instances: [instance('log-0', 'log')] });
  t.true(planDrain({ device: d, budgets: budgets(1), notReady: new Set() }).complete);
});
