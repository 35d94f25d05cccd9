import test from 'ava';
import type { DesiredInstance, DesiredState, Template } from '../../../src/protocol/index.js';
import { templateSchema } from '../../../src/protocol/index.js';
import { holdForWindow } from '../../../src/device-agent/reconcile/window-hold.js';
import type { Step } from '../../../src/device-agent/reconcile/model.js';

const template: Template = templateSchema.parse({ runtime: 'process', command: ['sleep', '60'] });
const fromRelease: DesiredInstance = { id: 'app', workload: 'app', revision: 'bbbbbbbb', template, release: { name: 'app', version: '2.0.0' } };
const plain: DesiredInstance = { id: 'other', workload: 'other', revision: 'cccccccc', template };
const noon = Date.parse('2026-06-01T12:00:00Z');
const window = (schedule: string, mode: 'allow' | 'deny') => ({ name: `w-${mode}`, selector: { matchLabels: {}, matchExpressions: [] }, schedule, durationMinutes: 60, timeZone: 'UTC', mode });
const desired = (windows: ReturnType<typeof window>[]): DesiredState => ({ generation: 2, issuedAt: new Date(noon).toISOString(), instances: [fromRelease, plain], maintenanceWindows: windows });
const replaceSteps: Step[] = [
  { kind: 'stop', id: 'app', revision: 'aaaaaaaa', graceSeconds: 1, reason: 'replaced by revision bbbbbbbb' },
  { kind: 'remove', id: 'app', revision: 'aaaaaaaa', reason: 'replaced by revision bbbbbbbb' },
  { kind: 'start', instance: fromRelease, reason: 'replace' },
  { kind: 'start', instance: plain, reason: 'create' },
];

test('outside the allow window, a release revision is not installed and the old one keeps running; other workloads go on', (t) => {
  // Opens at 14:00 UTC every day.
  const { steps, held } = holdForWindow(replaceSteps, desired([window('0 14 * * *', 'allow')]), noon);
  t.deepEqual([...held.keys()], ['app']);
  t.deepEqual(steps.filter((s) => s.kind !== 'wait'), [{ kind: 'start', instance: plain, reason: 'create' }]);
  const wait = steps.find((s) => s.kind === 'wait');
  t.is(wait?.kind === 'wait' ? wait.until : undefined, Date.parse('2026-06-01T14:00:00Z'), 'the loop wakes when the window opens');
});

test('inside the window, or with no windows, the plan is unchanged', (t) => {
  t.deepEqual(holdForWindow(replaceSteps, desired([window('30 11 * * *', 'allow')]), noon).steps, replaceSteps);
  t.deepEqual(holdForWindow(replaceSteps, { ...desired([]), maintenanceWindows: undefined } as DesiredState, noon).steps, replaceSteps);
});

test('a deny window in force holds installs, but not a crash restart of what is installed', (t) => {
  const restart: Step[] = [{ kind: 'start', instance: fromRelease, reason: 'restart' }];
  const deny = desired([window('30 11 * * *', 'deny')]);
  t.deepEqual(holdForWindow(restart, deny, noon).steps, restart);
  t.is(holdForWindow(replaceSteps, deny, noon).held.size, 1);
});
