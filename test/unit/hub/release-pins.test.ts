import test from 'ava';
import { releaseSpecSchema, templateSchema, type DesiredInstance, type ReleaseRecord } from '../../../src/protocol/index.js';
import { applyReleasePins, windowsForDevice } from '../../../src/hub/rollouts/release-pins.js';
import { templateRevision } from '../../../src/hub/workloads/revision.js';
import { pinnedInUse } from '../../../src/hub/config-objects/config-routes.js';

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

test('devices waiting for their window get the release\'s revisions to prefetch; other states and halted rollouts get none', async (t) => {
  const { prefetchInstances } = await import('../../../src/hub/rollouts/release-pins.js');
  const { createRollout } = await import('../../../src/scheduler/index.js');
  const { rolloutSpecSchema } = await import('../../../src/protocol/index.js');
  const spec = rolloutSpecSchema.parse({ selector: { matchLabels: {} }, release: { name: 'app', version: '2.0.0' }, waves: [{ percent: 100 }] });
  const info = (id: string) => ({ id, labels: {}, online: true, hardware: { arch: 'arm64', board: 'b', mcus: [] } });
  const rollout = createRollout({ name: 'ro', spec, devices: [info('d1'), info('d2')], releaseDigest: release.digest, now: Date.parse('2026-01-01T00:00:00Z') });
  const d1 = rollout.status.devices['d1'];
  if (d1 === undefined) return t.fail();
  rollout.status.devices['d1'] = { ...d1, state: 'waiting-window' };
  const wanted = new Map([
    ['d1', [instance('app'), instance('db')]],
    ['d2', [instance('app')]],
  ]);
  const releases = new Map([['app@2.0.0', release]]);
  const prefetch = prefetchInstances(wanted, [rollout], releases);
  t.deepEqual([...prefetch.keys()], ['d1']);
  t.deepEqual(prefetch.get('d1'), [{ ...instance('app'), template: v2, revision: templateRevision(v2), release: { name: 'app', version: '2.0.0' } }]);
  t.deepEqual(wanted.get('d1'), [instance('app'), instance('db')], 'what runs is untouched');
  t.is(prefetchInstances(wanted, [{ ...rollout, status: { ...rollout.status, phase: 'aborted' } }], releases).size, 0);
});

test('a gateway waiting for its window fetches ahead the release\'s firmware for the MCU models it has, unless already at that version', async (t) => {
  const { prefetchFirmware } = await import('../../../src/hub/rollouts/release-pins.js');
  const { createRollout } = await import('../../../src/scheduler/index.js');
  const { rolloutSpecSchema } = await import('../../../src/protocol/index.js');
  const fwRelease: ReleaseRecord = { ...release, spec: releaseSpecSchema.parse({ version: '2.0.0', firmware: [{ mcuModel: 'stm32f103', version: '2.1.0', sha256: 'c'.repeat(64) }] }) };
  const spec = rolloutSpecSchema.parse({ selector: { matchLabels: {} }, release: { name: 'app', version: '2.0.0' }, waves: [{ percent: 100 }] });
  const info = (id: string) => ({ id, labels: {}, online: true, hardware: { arch: 'arm64', board: 'b', mcus: [] } });
  const rollout = createRollout({ name: 'ro', spec, devices: ['gw-1', 'gw-2', 'gw-3', 'gw-4'].map(info), releaseDigest: release.digest, now: Date.parse('2026-01-01T00:00:00Z') });
  for (const id of ['gw-1', 'gw-2', 'gw-3']) {
    const d = rollout.status.devices[id];
    if (d) rollout.status.devices[id] = { ...d, state: 'waiting-window' };
  }
  const mcu = (version: string) => ({ facts: { mcus: [{ model: 'stm32f103', firmwareVersion: version }] } });
  const devices = [{ id: 'gw-1', ...mcu('2.0.0') }, { id: 'gw-2', ...mcu('2.1.0') }, { id: 'gw-3' }, { id: 'gw-4', ...mcu('2.0.0') }];
  const ahead = prefetchFirmware(devices, [rollout], new Map([['app@2.0.0', fwRelease]]));
  t.deepEqual([...ahead.entries()], [['gw-1', ['c'.repeat(64)]]], 'gw-2 runs it already, gw-3 has no such MCU, gw-4 is not waiting');
});

test('a ConfigMap a release pins cannot be deleted while devices run that release; a release nobody runs does not hold it', (t) => {
  const pinning: ReleaseRecord = { ...release, spec: releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: v2 }, configs: [{ kind: 'ConfigMap', name: 'level', version: 'b'.repeat(16) }] }) };
  const other: ReleaseRecord = { ...release, name: 'other', spec: releaseSpecSchema.parse({ version: '1.0.0', workloads: { app: v1 }, configs: [{ kind: 'ConfigMap', name: 'level', version: 'a'.repeat(16) }] }) };
  const pin = (name: string, version: string) => ({ release: { name, version }, rollout: 'ro', since: '2026-01-01T00:00:00.000Z' });
  const pins = new Map([['d1', pin('app', '2.0.0')], ['d2', pin('app', '2.0.0')], ['d3', pin('app', '1.0.0')]]);
  t.deepEqual(pinnedInUse('ConfigMap', 'level', pins, [pinning, other]), [{ release: 'app@2.0.0', devices: 2 }]);
  t.deepEqual(pinnedInUse('Secret', 'level', pins, [pinning, other]), [], 'a Secret of the same name is another object');
  t.deepEqual(pinnedInUse('ConfigMap', 'level', new Map(), [pinning, other]), []);
});
