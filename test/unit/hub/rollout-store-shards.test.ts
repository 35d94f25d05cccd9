// A rollout's per-device state and the release pins live in store shards (sharded-control.ts,
// schema 5): a transition that moves a few devices checks, copies and writes those devices' entries
// and the rollout's header, not the whole rollout. Counted, never timed.
import test, { type ExecutionContext } from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { nodeDurableFileSystem, type DurableFileSystem } from '../../../src/common/durable-file.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { DEFAULT_SHARDS, readControlDocument, rolloutDeviceKey, shardOf } from '../../../src/hub/store/sharded-control.js';
import { releaseDigest, releaseSpecSchema, rolloutDeviceSchema, rolloutSpecSchema, rolloutStateSchema, type RolloutState } from '../../../src/protocol/index.js';
import { createRollout } from '../../../src/scheduler/rollout/index.js';
import { makeTempDir } from '../../support/paths.js';

const spec = releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: { runtime: 'process', command: ['app'] } } });
const digest = releaseDigest({ metadata: { name: 'app' }, spec });

function rollout(devices: number): RolloutState {
  return createRollout({
    name: 'ro',
    spec: rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'a' } }, release: { name: 'app', version: '2.0.0' }, waves: [{ count: 1 }, { percent: 100 }] }),
    devices: Array.from({ length: devices }, (_, i) => ({ id: `d-${String(i).padStart(5, '0')}`, labels: { site: 'a' }, online: true, hardware: { arch: 'arm64', board: 'b', mcus: [] } })),
    releaseDigest: digest,
    now: 0,
  });
}

/** The next revision as step makes it: containers copied, the one changed entry replaced, the others kept. */
function moved(r: Readonly<RolloutState>, id: string): RolloutState {
  const d = r.status.devices[id];
  if (d === undefined) throw new Error(`no device ${id}`);
  return { ...r, status: { ...r.status, history: [...r.status.history], revision: r.status.revision + 1, devices: { ...r.status.devices, [id]: { ...d, state: 'updating', since: new Date(1000).toISOString() } } } };
}

/** A store of the test's own (removed after it) holding a rollout of `devices`, and that rollout as stored. */
async function storeWithRollout(t: ExecutionContext, devices: number): Promise<{ store: Awaited<ReturnType<typeof openLowdbStore>>; stored: Readonly<RolloutState> }> {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.rollouts.put(rollout(devices));
  const [stored] = await store.rollouts.snapshot();
  if (stored === undefined) throw new Error('not stored');
  return { store, stored };
}

/** Real file operations; records each file written (its name) with its size. */
function recordingFs(written: { name: string; bytes: number }[]): DurableFileSystem {
  return {
    async writeAndSync(path, contents) {
      await nodeDurableFileSystem.writeAndSync(path, contents);
      // store.json goes through a temporary file renamed into place.
      written.push({ name: basename(path).startsWith('.store.json') ? 'store.json' : basename(path), bytes: Buffer.byteLength(contents) });
    },
    rename: (from, to) => nodeDurableFileSystem.rename(from, to),
    syncFolder: (folder) => nodeDurableFileSystem.syncFolder(folder),
    unlink: (path) => nodeDurableFileSystem.unlink(path),
  };
}

/** Counts the store's checks: device entries one by one, and whole rollouts that carry their devices. */
function countChecks(): { entries: number; wholeRollouts: number; restore(): void } {
  const counts = { entries: 0, wholeRollouts: 0, restore: () => undefined as void };
  const entry = rolloutDeviceSchema.safeParse;
  const whole = rolloutStateSchema.safeParse;
  rolloutDeviceSchema.safeParse = ((value: unknown, ...rest: unknown[]) => ((counts.entries += 1), entry.call(rolloutDeviceSchema, value, ...(rest as [])))) as typeof entry;
  rolloutStateSchema.safeParse = ((value: unknown, ...rest: unknown[]) => {
    if (Object.keys((value as RolloutState).status?.devices ?? {}).length > 0) counts.wholeRollouts += 1;
    return whole.call(rolloutStateSchema, value, ...(rest as []));
  }) as typeof whole;
  counts.restore = () => {
    rolloutDeviceSchema.safeParse = entry;
    rolloutStateSchema.safeParse = whole;
  };
  return counts;
}

/** Stores a rollout of `devices`, then one transition that moves one device: what that transition cost. */
async function oneTransition(devices: number) {
  const dir = await makeTempDir();
  const written: { name: string; bytes: number }[] = [];
  const store = await openLowdbStore(dir.path, () => undefined, { fs: recordingFs(written) });
  await store.rollouts.put(rollout(devices));
  const [stored] = await store.rollouts.snapshot();
  if (stored === undefined) throw new Error('not stored');
  written.length = 0;
  const checks = countChecks();
  const next = moved(stored, 'd-00003');
  try {
    await store.rollouts.put(next);
  } finally {
    checks.restore();
  }
  await store.close();
  const reopened = await openLowdbStore(dir.path, () => undefined);
  const reread = await reopened.rollouts.get('ro');
  await reopened.close();
  await dir.remove();
  return { written: [...written], checks: { entries: checks.entries, wholeRollouts: checks.wholeRollouts }, next, reread };
}

// Serial: the check counters are process-wide, and the other tests' writes would count too.
test.serial('a transition that moves one device checks that entry only and writes its shard and store.json, whatever the rollout size', async (t) => {
  const small = await oneTransition(100);
  const large = await oneTransition(2000);
  for (const [devices, r] of [[100, small], [2000, large]] as const) {
    t.deepEqual(r.reread, r.next, `${devices} devices: the rollout reads back whole`);
    t.deepEqual(r.checks, { entries: 1, wholeRollouts: 0 }, `${devices} devices: one entry checked, the rollout not checked whole`);
    t.deepEqual(
      r.written.map((w) => w.name.replace(/-\d+\.json$/, '')),
      [`rolloutDevices-${shardOf(rolloutDeviceKey('ro', 'd-00003'), DEFAULT_SHARDS)}`, 'store.json'],
      `${devices} devices: one shard of the rollout's devices, then store.json`,
    );
  }
  // store.json holds the header (and the names of the shards in use, at most 128 per collection):
  // twenty times the devices is not twenty times the bytes.
  const mainBytes = (r: typeof small) => r.written.find((w) => w.name === 'store.json')?.bytes ?? 0;
  t.true(mainBytes(large) < 2 * mainBytes(small), `store.json: ${mainBytes(small)} bytes at 100 devices, ${mainBytes(large)} at 2,000`);
  const shardBytes = (r: typeof small) => r.written.find((w) => w.name.startsWith('rolloutDevices-'))?.bytes ?? 0;
  t.true(shardBytes(large) < 40 * shardBytes(small), 'the shard written holds its share of the devices, not all of them');
});

test('a changed device entry that would not load is refused; the stored rollout stays as it was', async (t) => {
  const { store, stored } = await storeWithRollout(t, 3);
  const bad = moved(stored, 'd-00001');
  bad.status.devices['d-00001'] = { ...(bad.status.devices['d-00001'] as RolloutState['status']['devices'][string]), wave: 7 };
  const err = await t.throwsAsync(store.rollouts.put(bad), { message: /refusing to store rollouts\["ro"\]: status\.devices\["d-00001"\]: wave: no wave 7/ });
  t.is((err as { code?: string } | undefined)?.code, 'StoreRecordInvalid');
  t.is((await store.rollouts.get('ro'))?.status.devices['d-00001']?.wave, stored.status.devices['d-00001']?.wave);
  await store.close();
});

test('the store keeps its own copy of changed entries: a caller editing what it wrote changes nothing stored', async (t) => {
  const { store, stored } = await storeWithRollout(t, 3);
  const next = moved(stored, 'd-00002');
  await store.rollouts.put(next);
  (next.status.devices['d-00002'] as { state: string }).state = 'failed';
  next.status.history.push({ at: new Date(0).toISOString(), type: 'paused', message: 'edited after the write' });
  const [after] = await store.rollouts.snapshot();
  t.is(after?.status.devices['d-00002']?.state, 'updating');
  t.is(after?.status.history.length, stored.status.history.length);
  await store.close();
});

test('a schema 4 store (pins and rollouts whole in store.json) loads, and its first commit moves them into shards', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const r = rollout(5);
  const pin = { release: { name: 'app', version: '2.0.0' }, rollout: 'ro', since: new Date(0).toISOString() };
  const none = Array<null>(DEFAULT_SHARDS).fill(null);
  const old = { schemaVersion: 4, tokens: {}, workloads: {}, placements: {}, rollouts: { ro: r }, releasePins: { 'd-00000': pin }, layout: { shards: DEFAULT_SHARDS, files: { devices: none, desired: none } } };
  await writeFile(join(dir.path, 'store.json'), JSON.stringify(old));
  const store = await openLowdbStore(dir.path, () => undefined);
  t.deepEqual(await store.rollouts.get('ro'), r);
  t.deepEqual(await store.releasePins.get('d-00000'), pin);
  await store.releasePins.set(['d-00001'], pin);
  await store.close();
  const onDisk = JSON.parse(await readFile(join(dir.path, 'store.json'), 'utf8')) as { schemaVersion: number; releasePins?: unknown; rollouts: Record<string, RolloutState> };
  t.is(onDisk.schemaVersion, 5);
  t.is(onDisk.releasePins, undefined, 'pins are in shards');
  t.deepEqual(onDisk.rollouts['ro']?.status.devices, {}, 'store.json holds the rollout header');
  const doc = await readControlDocument(dir.path);
  t.deepEqual((doc?.['rollouts'] as Record<string, RolloutState>)['ro'], r);
  t.deepEqual(Object.keys(doc?.['releasePins'] as object).sort(), ['d-00000', 'd-00001']);
  const reopened = await openLowdbStore(dir.path, () => undefined);
  t.deepEqual(await reopened.rollouts.get('ro'), r);
  t.is((await reopened.releasePins.snapshot()).size, 2);
  await reopened.close();
});

test('the pins snapshot is kept until a set, and a snapshot handed out does not change', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  const pin = { release: { name: 'app', version: '2.0.0' }, rollout: 'ro', since: new Date(0).toISOString() };
  await store.releasePins.set(['a'], pin);
  const first = await store.releasePins.snapshot();
  t.is(await store.releasePins.snapshot(), first);
  await store.releasePins.set(['b'], pin);
  t.deepEqual([...first.keys()], ['a']);
  t.deepEqual([...(await store.releasePins.snapshot()).keys()].sort(), ['a', 'b']);
  await store.releasePins.set(['a'], null);
  t.deepEqual([...(await store.releasePins.snapshot()).keys()], ['b']);
  await store.close();
});
