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

test('downloads go on while the window is closed: a held install and the hub\'s prefetch list get ensure-image steps, once', async (t) => {
  const { prefetchCandidates, prefetchSteps, PREFETCH_RETRY_MS } = await import('../../../src/device-agent/reconcile/window-hold.js');
  const ahead: DesiredInstance = { ...fromRelease, id: 'cam', workload: 'cam', revision: 'dddddddd' };
  const doc: DesiredState = { ...desired([window('0 14 * * *', 'allow')]), prefetch: [ahead] };
  const { held } = holdForWindow(replaceSteps, doc, noon);
  const candidates = prefetchCandidates(doc, held);
  t.deepEqual(candidates.map((i) => `${i.id}@${i.revision}`).sort(), ['app@bbbbbbbb', 'cam@dddddddd']);
  t.deepEqual(prefetchSteps(candidates, new Map(), noon).map((s) => s.kind), ['ensure-image', 'ensure-image']);
  // Downloaded: nothing more to do. Failed: retried after a while, not in a tight loop.
  const done = new Map([
    ['cam@dddddddd', { id: 'cam', revision: 'dddddddd', state: 'downloaded' as const }],
    ['app@bbbbbbbb', { id: 'app', revision: 'bbbbbbbb', state: 'failed' as const, error: 'no such image', retryAt: noon + PREFETCH_RETRY_MS }],
  ]);
  t.deepEqual(prefetchSteps(candidates, done, noon), [{ kind: 'wait', id: 'app', until: noon + PREFETCH_RETRY_MS, reason: 'download failed: no such image' }]);
  t.deepEqual(prefetchSteps(candidates, done, noon + PREFETCH_RETRY_MS).map((s) => s.kind), ['ensure-image']);
  // Window open: nothing is held, only the hub's list remains.
  t.deepEqual(prefetchCandidates(doc, holdForWindow(replaceSteps, doc, Date.parse('2026-06-01T14:30:00Z')).held).map((i) => i.id), ['cam']);
});
