import test from 'ava';
import { releaseSpecSchema, templateSchema, type DesiredInstance, type ReleaseRecord } from '../../../src/protocol/index.js';
import { applyReleasePins, windowsForDevice } from '../../../src/hub/rollouts/release-pins.js';
import { templateRevision } from '../../../src/hub/workloads/revision.js';

const v1 = templateSchema.parse({ runtime: 'process', command: ['app', '--v1'] });
const v2 = templateSchema.parse({ runtime: 'process', command: ['app', '--v2'] });
const release: ReleaseRecord = {
  name: 'app',
  labels: {},
  annotations: {},
  spec: releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: v2 } }),
  digest: `sha256:${'a'.repeat(64)}`,
  createdAt: '2026-01-01T00:00:00.000Z',
};
const instance = (workload: string): DesiredInstance => ({ id: workload, workload, revision: templateRevision(v1), template: v1 });

test('a pinned device runs its release\'s template for the workloads the release carries; others and unpinned devices are untouched', (t) => {
  const wanted = new Map([
    ['d1', [instance('app'), instance('db')]],
    ['d2', [instance('app')]],
  ]);
  applyReleasePins(wanted, new Map([['d1', { release: { name: 'app', version: '2.0.0' }, rollout: 'ro', since: '2026-01-01T00:00:00.000Z' }]]), new Map([['app@2.0.0', release]]));
  const [app, db] = wanted.get('d1') ?? [];
  t.deepEqual(app?.template, v2);
  t.is(app?.revision, templateRevision(v2));
  t.deepEqual(app?.release, { name: 'app', version: '2.0.0' });
  t.deepEqual(db, instance('db'));
  t.deepEqual(wanted.get('d2'), [instance('app')]);
});

test('a device gets the windows whose selector matches its labels, with the selector already applied', (t) => {
  const w = (name: string, site: string) => ({ name, selector: { matchLabels: { site }, matchExpressions: [] }, schedule: '0 2 * * *', durationMinutes: 60, timeZone: 'UTC', mode: 'allow' as const });
  const got = windowsForDevice([w('a-night', 'a'), w('b-night', 'b')], { site: 'a' });
  t.deepEqual(got.map((x) => x.name), ['a-night']);
  t.deepEqual(got[0]?.selector, { matchLabels: {}, matchExpressions: [] });
});
