// A restarted hub checked every record of its store with zod (3 s at 10,000 devices). Files the hub
// wrote carry a digest of their text now: such a file is loaded without checking its records one by
// one, and a file that no longer matches (edited by hand, damaged) is checked as before. These tests
// count the checks (never times), so they run one at a time: the counters are the module's.
import test from 'ava';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { loadChecks } from '../../../src/hub/store/checked-digest.js';
import { StoreRecordError } from '../../../src/hub/store/record-check.js';
import { SHARD_FOLDER } from '../../../src/hub/store/sharded-control.js';
import type { DeviceRecord } from '../../../src/hub/store/records.js';
import { makeTempDir } from '../../support/paths.js';

const DEVICES = 40;
const time = new Date(0).toISOString();

const online = { state: 'online' as const, reason: 'connected' as const, agentVersion: 't', bootId: 'b', sessionId: 's', since: time };
const offline = { ...online, state: 'offline' as const, reason: 'connection-lost' as const };

function device(i: number): DeviceRecord {
  const id = `dev-${i}`;
  return { id, hardwareId: `hw-${i}`, hostname: id, labels: { zone: `z${i % 3}` }, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: time, joinedWithToken: 't', status: online, lastSeen: time };
}

/** A store of DEVICES devices, each with a desired and a reported document, written and closed. */
async function writtenStore(t: { teardown(f: () => Promise<void>): void }): Promise<string> {
  const dir = await makeTempDir('ep-store-digests-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  // All at once, before the first lazy flush: that flush writes observed.json whole, with no journal.
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < DEVICES; i++) {
    writes.push(
      store.devices.put(device(i), 'sync'),
      store.deviceState.putDesired(`dev-${i}`, { generation: 1, issuedAt: time, instances: [] }),
      store.deviceState.putReported(`dev-${i}`, { observedGeneration: 1, time, instances: [] }),
    );
  }
  await Promise.all(writes);
  await store.close();
  return dir.path;
}

/** The checks made while opening the store in `dir` (and the store, to close). */
async function checksOfOpen(dir: string, warnings: string[] = []) {
  const before = { ...loadChecks };
  const store = await openLowdbStore(dir, (m) => warnings.push(m));
  return { store, checked: loadChecks.checked - before.checked, vouched: loadChecks.vouched - before.vouched };
}

/** Rewrites the first shard file of a collection through `edit`, keeping it valid JSON. */
async function editShard(dir: string, collection: string, edit: (shard: Record<string, Record<string, unknown>>) => void): Promise<string> {
  const name = (await readdir(join(dir, SHARD_FOLDER))).find((f) => f.startsWith(`${collection}-`));
  if (name === undefined) throw new Error(`no ${collection} shard`);
  const path = join(dir, SHARD_FOLDER, name);
  const shard = JSON.parse(await readFile(path, 'utf8')) as Record<string, Record<string, unknown>>;
  edit(shard);
  await writeFile(path, JSON.stringify(shard));
  return Object.keys(shard)[0] ?? '';
}

test.serial('a store the hub wrote is loaded without checking its fleet records one by one; everything is there', async (t) => {
  const dir = await writtenStore(t);
  const { store, checked, vouched } = await checksOfOpen(dir);
  // Devices, desired documents, observed devices and reports: all vouched for by their files' digests.
  t.is(vouched, DEVICES * 4);
  t.is(checked, 0);
  t.is((await store.devices.list()).length, DEVICES);
  t.is((await store.deviceState.allDesired()).size, DEVICES);
  t.deepEqual((await store.devices.get('dev-7'))?.labels, { zone: 'z1' });
  t.deepEqual((await store.devices.get('dev-7'))?.status, online);
  await store.close();
});

test.serial('a desired shard edited by hand is checked again, and a malformed document still refuses the load', async (t) => {
  const dir = await writtenStore(t);
  const id = await editShard(dir, 'desired', (shard) => {
    const first = Object.keys(shard)[0] ?? '';
    shard[first] = { generation: -1, issuedAt: 'now', instances: [] };
  });
  const error = await t.throwsAsync(openLowdbStore(dir, () => undefined), { instanceOf: StoreRecordError });
  t.is(error?.code, 'StoreRecordInvalid');
  t.regex(error?.message ?? '', new RegExp(`store\\.json: desired\\["${id}"\\] is malformed \\(generation: .*\\); refusing to start`));
});

test.serial('a device shard edited by hand: only that shard is checked, and its malformed record is skipped and named', async (t) => {
  const dir = await writtenStore(t);
  let inShard = 0;
  const id = await editShard(dir, 'devices', (shard) => {
    inShard = Object.keys(shard).length;
    const first = Object.keys(shard)[0] ?? '';
    shard[first] = { ...shard[first], labels: { 'bad key!': 'x' } };
  });
  const warnings: string[] = [];
  const { store, checked } = await checksOfOpen(dir, warnings);
  t.is(checked, inShard);
  t.false(await store.devices.has(id));
  t.is((await store.devices.list()).length, DEVICES - 1);
  t.regex(warnings.join('\n'), new RegExp(`skipped malformed devices record "${id}" \\(labels`));
  await store.close();
});

test.serial('observed.json edited by hand is checked again; a malformed record is skipped, the rest kept', async (t) => {
  const dir = await writtenStore(t);
  const path = join(dir, 'observed.json');
  const text = await readFile(path, 'utf8');
  // Same length, still JSON, another status: the digest no longer matches.
  await writeFile(path, text.replace('"state":"online"', '"state":"zzzzzz"'));
  const warnings: string[] = [];
  const { store, checked } = await checksOfOpen(dir, warnings);
  t.is(checked, DEVICES * 2);
  t.regex(warnings.join('\n'), /observed\.json: skipped malformed devices record "dev-\d+" \(status/);
  t.is((await store.devices.list()).length, DEVICES);
  await store.close();
});

test.serial('records the journal replaced since the snapshot are vouched for by the seal of their flush; without the seal they are checked', async (t) => {
  const dir = await writtenStore(t);
  const first = await openLowdbStore(dir, () => undefined);
  await first.devices.observe('dev-3', (d) => void (d.status = offline));
  await first.deviceState.putReported('dev-5', { observedGeneration: 1, time: new Date(1000).toISOString(), instances: [] });
  await first.close();
  const sealed = await checksOfOpen(dir);
  t.is(sealed.checked, 0);
  t.is(sealed.vouched, DEVICES * 4);
  t.deepEqual((await sealed.store.devices.get('dev-3'))?.status, offline);
  await sealed.store.close();
  // A journal of a hub from before the seals (or a flush torn before its seal): its records are checked.
  const journal = (await readdir(dir)).find((f) => /^observed\.\d+\.log$/.test(f)) ?? '';
  const lines = (await readFile(join(dir, journal), 'utf8')).split('\n');
  t.true(lines.some((l) => l.startsWith('{"sum":')));
  await writeFile(join(dir, journal), lines.filter((l) => !l.startsWith('{"sum":')).join('\n'));
  const unsealed = await checksOfOpen(dir);
  t.is(unsealed.checked, 2);
  t.is(unsealed.vouched, DEVICES * 4 - 2);
  t.deepEqual((await unsealed.store.devices.get('dev-3'))?.status, offline);
  await unsealed.store.close();
});

test.serial('a store written before the digests (no sums in its layout) is checked whole once, and vouched for after its next write', async (t) => {
  const dir = await writtenStore(t);
  const path = join(dir, 'store.json');
  const main = JSON.parse(await readFile(path, 'utf8')) as { layout: { sums?: unknown } };
  delete main.layout.sums;
  await writeFile(path, JSON.stringify(main));
  const old = await checksOfOpen(dir);
  t.is(old.checked, DEVICES * 2);
  await old.store.devices.put({ ...device(1), labels: { zone: 'new' } }, 'sync');
  await old.store.close();
  const next = await checksOfOpen(dir);
  // Only shards written since carry a digest: dev-1's (alone in its shard) is vouched for again.
  // Checked: the 39 other devices and every desired document (dev-1's observed record, in the journal, is sealed).
  t.is(next.checked, DEVICES - 1 + DEVICES);
  t.is(next.vouched, 1 + DEVICES * 2);
  t.deepEqual((await next.store.devices.get('dev-1'))?.labels, { zone: 'new' });
  await next.store.close();
});
