import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { ReleaseImmutableError } from '../../../src/hub/store/repository.js';
import { releaseDigest, releaseSpecSchema, rolloutSpecSchema, type ReleaseRecord, type RolloutState } from '../../../src/protocol/index.js';
import { createRollout } from '../../../src/scheduler/rollout/index.js';
import { makeTempDir } from '../../support/paths.js';

function release(command: string): ReleaseRecord {
  const spec = releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: { runtime: 'process', command: [command] } } });
  return { name: 'app', labels: {}, annotations: {}, spec, digest: releaseDigest({ metadata: { name: 'app' }, spec }), createdAt: new Date(0).toISOString() };
}

const rollout = (): RolloutState =>
  createRollout({
    name: 'ro',
    spec: rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'a' } }, release: { name: 'app', version: '2.0.0' }, waves: [{ count: 1 }, { percent: 100 }] }),
    devices: [{ id: 'd1', labels: { site: 'a' }, online: true, hardware: { arch: 'arm64', board: 'b', mcus: [] } }],
    releaseDigest: release('run').digest,
    now: 0,
  });

test('a release is immutable: the same content again is unchanged, other content under its name and version is refused', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  t.is(await store.releases.create(release('run')), 'created');
  t.is(await store.releases.create(release('run')), 'unchanged');
  const err = await t.throwsAsync(store.releases.create(release('other')), { instanceOf: ReleaseImmutableError });
  t.is(err?.code, 'ReleaseImmutable');
  t.is((await store.releases.get('app', '2.0.0'))?.spec.workloads['app']?.runtime, 'process');
  await store.close();
});

test('rollouts, pins and gate verdicts survive a reopen; a malformed stored rollout refuses the load', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.rollouts.put(rollout());
  await store.releasePins.set(['d1'], { release: { name: 'app', version: '2.0.0' }, rollout: 'ro', since: new Date(0).toISOString() });
  await store.gateVerdicts.put({ releaseDigest: release('run').digest, result: 'pass', at: new Date(0).toISOString(), rollout: 'ro', reason: 'ok' });
  await store.close();
  const reopened = await openLowdbStore(dir.path);
  t.deepEqual(await reopened.rollouts.get('ro'), rollout());
  t.is((await reopened.releasePins.get('d1'))?.rollout, 'ro');
  t.is((await reopened.gateVerdicts.get(release('run').digest))?.result, 'pass');
  await reopened.close();
  // A rollout that does not parse must not be dropped silently: its devices would be stranded.
  const path = join(dir.path, 'store.json');
  const doc = JSON.parse(await readFile(path, 'utf8')) as { rollouts: Record<string, { status: { currentWave: number } }> };
  (doc.rollouts['ro'] as { status: { currentWave: number } }).status.currentWave = 9;
  await writeFile(path, JSON.stringify(doc));
  await t.throwsAsync(openLowdbStore(dir.path, () => undefined), { message: /rollouts\["ro"\] is malformed/ });
});
