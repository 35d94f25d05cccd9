// Issue 14: ConfigMaps and Secrets are records of the hub store, written with the other kinds of an
// apply in one durable write, and the file they used to live in is moved in on first open.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configRecordFor } from '../../../src/hub/config-objects/config-records.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { StoreRecordError } from '../../../src/hub/store/record-check.js';
import { readControlDocument } from '../../../src/hub/store/sharded-control.js';
import type { WorkloadRecord } from '../../../src/hub/store/records.js';
import type { ConfigMapManifest } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

const now = '2026-11-30T12:00:00.000Z';
const configMap = (name: string, level: string) =>
  configRecordFor({ apiVersion: 'edgepilot.io/v1', kind: 'ConfigMap', metadata: { name, labels: {}, annotations: {} }, data: { level }, binaryData: {}, immutable: false } as ConfigMapManifest, undefined, now, randomBytes(32)).record;

test('config objects are stored by applyDocuments in the same write as workloads, and refused with them', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  // A malformed Workload (no spec) refuses the whole batch: the ConfigMap is not stored either.
  const bad = { name: 'web', labels: {}, annotations: {}, revision: 'x', createdAt: now, updatedAt: now } as unknown as WorkloadRecord;
  await t.throwsAsync(store.applyDocuments({ configObjects: [configMap('settings', 'debug')], workloads: [bad] }), { instanceOf: StoreRecordError });
  t.is(await store.configObjects.get('ConfigMap', 'settings'), undefined);
  const commits = store.commits;
  await store.applyDocuments({ configObjects: [configMap('settings', 'debug'), configMap('other', 'info')] });
  t.is(store.commits - commits, 1, 'one durable write');
  const onDisk = (await readControlDocument(dir.path)) as { configObjects: Record<string, unknown> };
  t.deepEqual(Object.keys(onDisk.configObjects).sort(), ['ConfigMap/other', 'ConfigMap/settings']);
  t.deepEqual((await store.configObjects.list('ConfigMap')).map((o) => o.name), ['other', 'settings']);
  t.true(await store.configObjects.delete('ConfigMap', 'other'));
  t.false(await store.configObjects.delete('ConfigMap', 'other'));
  await store.close();
  const reopened = await openLowdbStore(dir.path);
  t.deepEqual((await reopened.configObjects.list()).map((o) => o.name), ['settings']);
  await reopened.close();
});

test('config-objects.json of an earlier hub is moved into the store on first open and kept aside', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const legacy = join(dir.path, 'config-objects.json');
  await writeFile(legacy, JSON.stringify({ objects: [configMap('settings', 'debug')] }));
  const warnings: string[] = [];
  const store = await openLowdbStore(dir.path, (m) => warnings.push(m));
  t.is((await store.configObjects.get('ConfigMap', 'settings'))?.name, 'settings');
  await t.throwsAsync(stat(legacy));
  t.truthy(await readFile(`${legacy}.migrated`, 'utf8'));
  t.regex(warnings.join('\n'), /1 ConfigMaps and Secrets moved into the store/);
  await store.close();
  // A second start finds them in the store (the file is gone), and a leftover file does not
  // overwrite what the store has since (a crash between the write and the rename).
  await writeFile(legacy, JSON.stringify({ objects: [configMap('settings', 'stale')] }));
  const reopened = await openLowdbStore(dir.path, () => undefined);
  const kept = await reopened.configObjects.get('ConfigMap', 'settings');
  t.is(Buffer.from(kept?.values?.['level'] ?? '', 'base64').toString(), 'debug');
  await reopened.close();
});

test('a malformed object in config-objects.json refuses the start and names it', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  await writeFile(join(dir.path, 'config-objects.json'), JSON.stringify({ objects: [{ ...configMap('settings', 'debug'), version: 'nope' }] }));
  const err = await t.throwsAsync(openLowdbStore(dir.path, () => undefined), { instanceOf: StoreRecordError });
  t.regex(err?.message ?? '', /config-objects\.json: object "ConfigMap\/settings" is malformed/);
});
