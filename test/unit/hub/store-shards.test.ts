// The control document on disk in shards (src/hub/store/sharded-control.ts, issue 11): a commit
// writes the shards that changed and store.json, nothing else; a crash before store.json is
// renamed leaves the previous state whole; a schema 3 store (everything in store.json) loads and
// moves into shards at its first commit.
import test from 'ava';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { nodeDurableFileSystem, type DurableFileSystem } from '../../../src/common/durable-file.js';
import { STORE_SCHEMA_VERSION } from '../../../src/hub/store/document.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { DEFAULT_SHARDS, readControlDocument, SHARD_FOLDER, shardOf } from '../../../src/hub/store/sharded-control.js';
import type { DesiredState, DeviceRecord } from '../../../src/hub/store/records.js';
import { makeTempDir } from '../../support/paths.js';

function device(id: string): DeviceRecord {
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: { zone: 'a' }, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: new Date(0).toISOString(), joinedWithToken: 't' };
}

const desired = (generation: number): DesiredState => ({ generation, issuedAt: new Date(0).toISOString(), instances: [] });

/** The real file operations; the names of the shard files written and of store.json when renamed into place; optionally fails a rename. */
function recordingFs(renamed: string[], failRenameOf?: () => string | undefined): DurableFileSystem {
  return {
    async writeAndSync(path, contents) {
      await nodeDurableFileSystem.writeAndSync(path, contents);
      if (!basename(path).startsWith('.')) renamed.push(basename(path));
    },
    async rename(from, to) {
      if (failRenameOf?.() === basename(to)) throw Object.assign(new Error('simulated crash'), { code: 'EIO' });
      await nodeDurableFileSystem.rename(from, to);
      renamed.push(basename(to));
    },
    syncFolder: (folder) => nodeDurableFileSystem.syncFolder(folder),
    unlink: (path) => nodeDurableFileSystem.unlink(path),
  };
}

test('a change of one device writes its shard and store.json, not the fleet', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const renamed: string[] = [];
  const store = await openLowdbStore(dir.path, () => undefined, { fs: recordingFs(renamed) });
  for (let i = 0; i < 500; i++) void store.devices.put(device(`d-${i}`), 'lazy');
  for (let i = 0; i < 500; i++) void store.deviceState.putDesired(`d-${i}`, desired(1));
  await store.settled();
  t.true(renamed.filter((n) => n.startsWith('devices-')).length > DEFAULT_SHARDS / 2, 'the first commit writes every shard that holds devices');
  renamed.length = 0;
  await store.devices.update('d-7', (d) => void (d.labels['zone'] = 'b'), 'sync');
  t.deepEqual(renamed, [`devices-${shardOf('d-7', DEFAULT_SHARDS)}-${renamed[0]?.split('-')[2] ?? ''}`, 'store.json']);
  renamed.length = 0;
  await store.deviceState.putDesired('d-9', desired(2));
  t.is(renamed.length, 2);
  t.regex(renamed[0] ?? '', new RegExp(`^desired-${shardOf('d-9', DEFAULT_SHARDS)}-\\d+\\.json$`));
  await store.close();
  // Replaced shard files are gone: only those store.json names are left.
  const doc = JSON.parse(await readFile(join(dir.path, 'store.json'), 'utf8')) as { layout: { files: Record<string, (string | null)[]> }; devices?: unknown };
  t.is(doc.devices, undefined, 'devices are not in store.json');
  const named = Object.values(doc.layout.files).flat().filter((f) => f !== null).sort();
  t.deepEqual((await readdir(join(dir.path, SHARD_FOLDER))).sort(), named);
  const reopened = await openLowdbStore(dir.path, () => undefined);
  t.is((await reopened.devices.list()).length, 500);
  t.is((await reopened.devices.get('d-7'))?.labels['zone'], 'b');
  t.is((await reopened.deviceState.desired('d-9'))?.generation, 2);
  t.is((await reopened.deviceState.desired('d-8'))?.generation, 1);
  await reopened.close();
});

test('a deleted device leaves its shards; an emptied shard has no file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.devices.put(device('only'), 'sync');
  await store.deviceState.putDesired('only', desired(1));
  t.is((await readdir(join(dir.path, SHARD_FOLDER))).length, 2);
  await store.devices.delete('only');
  await store.close();
  t.deepEqual(await readdir(join(dir.path, SHARD_FOLDER)), []);
  const doc = await readControlDocument(dir.path);
  t.deepEqual(doc?.['devices'], {});
  t.deepEqual(doc?.['desired'], {});
});

test('a crash before store.json is renamed: the previous state, whole; orphaned shards are removed at open', async (t) => {
  const dir = await makeTempDir();
  const image = await makeTempDir();
  t.teardown(() => Promise.all([dir.remove(), image.remove()]));
  let fail: string | undefined;
  const store = await openLowdbStore(dir.path, () => undefined, { fs: recordingFs([], () => fail) });
  for (let i = 0; i < 40; i++) void store.devices.put(device(`d-${i}`), 'lazy');
  for (let i = 0; i < 40; i++) void store.deviceState.putDesired(`d-${i}`, desired(1));
  await store.settled();
  fail = 'store.json';
  // One change that spans two collections (and so two shard files): both or neither.
  await t.throwsAsync(store.devices.delete('d-3'), { message: 'simulated crash' });
  await t.throwsAsync(store.deviceState.putDesired('d-5', desired(2)), { message: 'simulated crash' });
  // The "crash": a copy of the folder as it is now is what a restarted hub finds.
  await cp(dir.path, image.path, { recursive: true });
  const reopened = await openLowdbStore(image.path, () => undefined);
  t.is((await reopened.devices.get('d-3'))?.id, 'd-3');
  t.is((await reopened.deviceState.desired('d-3'))?.generation, 1);
  t.is((await reopened.deviceState.desired('d-5'))?.generation, 1);
  await reopened.close();
  const named = JSON.parse(await readFile(join(image.path, 'store.json'), 'utf8')) as { layout: { files: Record<string, (string | null)[]> } };
  t.deepEqual((await readdir(join(image.path, SHARD_FOLDER))).sort(), Object.values(named.layout.files).flat().filter((f) => f !== null).sort(), 'unnamed shard files are removed');
  // The failed commits' shards are written again by the next commit.
  fail = undefined;
  await store.devices.put(device('c'), 'sync');
  await store.close();
  const after = await openLowdbStore(dir.path, () => undefined);
  t.is(await after.devices.get('d-3'), undefined);
  t.is(await after.deviceState.desired('d-3'), undefined);
  t.is((await after.deviceState.desired('d-5'))?.generation, 2);
  await after.close();
});

test('a schema 3 store (everything in store.json) loads, and its first commit moves the fleet into shards', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const old = { schemaVersion: 3, devices: { a: device('a'), b: device('b') }, desired: { a: desired(4) }, tokens: {}, workloads: {}, placements: {} };
  await writeFile(join(dir.path, 'store.json'), JSON.stringify(old));
  const store = await openLowdbStore(dir.path, () => undefined);
  t.deepEqual((await store.devices.list()).map((d) => d.id).sort(), ['a', 'b']);
  t.is((await store.deviceState.desired('a'))?.generation, 4);
  await store.devices.put(device('c'), 'sync');
  await store.close();
  const onDisk = JSON.parse(await readFile(join(dir.path, 'store.json'), 'utf8')) as Record<string, unknown>;
  t.is(onDisk['schemaVersion'], STORE_SCHEMA_VERSION);
  t.is(onDisk['devices'], undefined);
  t.is(onDisk['desired'], undefined);
  const doc = await readControlDocument(dir.path);
  t.deepEqual(Object.keys(doc?.['devices'] as object).sort(), ['a', 'b', 'c']);
  t.is((doc?.['desired'] as Record<string, DesiredState>)['a']?.generation, 4);
});

test('a shard file store.json names but that is missing: refused, never started over', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.devices.put(device('a'), 'sync');
  await store.close();
  const [file] = await readdir(join(dir.path, SHARD_FOLDER));
  await nodeDurableFileSystem.unlink(join(dir.path, SHARD_FOLDER, file ?? ''));
  await t.throwsAsync(openLowdbStore(dir.path, () => undefined), { message: /shard file .* is missing; refusing to start/ });
});

test('the desired snapshot is kept while no document changes, and taken again after a put or a device delete', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.devices.put(device('a'), 'sync');
  await store.devices.put(device('b'), 'sync');
  await store.deviceState.putDesired('a', desired(1));
  const first = await store.deviceState.desiredSnapshot();
  t.is(await store.deviceState.desiredSnapshot(), first, 'nothing changed: the same view');
  await store.devices.update('a', (d) => void (d.labels['zone'] = 'b'), 'sync');
  t.is(await store.deviceState.desiredSnapshot(), first, 'a device change is not a desired change');
  await store.deviceState.putDesired('b', desired(1));
  const second = await store.deviceState.desiredSnapshot();
  t.not(second, first);
  t.deepEqual([...second.keys()].sort(), ['a', 'b']);
  t.deepEqual([...first.keys()], ['a'], 'a view handed out does not change');
  // Two puts since the last view: the next one is that view with both applied.
  await store.deviceState.putDesired('a', desired(2));
  await store.deviceState.putDesired('b', desired(2));
  const third = await store.deviceState.desiredSnapshot();
  t.deepEqual([...third].map(([id, d]) => [id, d.generation]).sort(), [['a', 2], ['b', 2]]);
  t.deepEqual([...second].map(([id, d]) => [id, d.generation]).sort(), [['a', 1], ['b', 1]], 'the view before is as it was');
  // A put and a device delete (not a put): the view is built again from the document.
  await store.deviceState.putDesired('b', desired(3));
  await store.devices.delete('a');
  t.deepEqual([...(await store.deviceState.desiredSnapshot())].map(([id, d]) => [id, d.generation]), [['b', 3]]);
  await store.close();
});
