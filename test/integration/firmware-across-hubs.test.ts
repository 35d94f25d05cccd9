// Firmware images and trusted keys with two hubs on one PostgreSQL (issue 15): a key trusted and
// an image pushed at hub A are served, found by version (what a rollout or flash resolves) and
// read byte for byte at hub B; a key untrusted at A stops being trusted at B.
import test, { type ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';
import { createImage, flattenImage } from '../../src/firmware/image/image.js';
import { createManifest } from '../../src/firmware/manifest/manifest.js';
import { generateSigningKeyPair, signManifest } from '../../src/firmware/manifest/signing.js';
import { FirmwareStore, FirmwareVersionTakenError, type StoredFirmware } from '../../src/hub/firmware/firmware-store.js';
import { TrustedKeys } from '../../src/hub/firmware/trusted-keys.js';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { makeTempDir } from '../support/paths.js';
import { freshDatabase } from '../support/postgres.js';

const quiet = createLogger('test', 'error', () => undefined);
const signer = generateSigningKeyPair();

function signedImage(version: string, fill: number): { entry: StoredFirmware; bytes: Uint8Array } {
  const image = createImage([{ address: 0x0800_0000, data: new Uint8Array(4096).fill(fill) }]);
  const manifest = createManifest(image, { target: 'stm32f103', version, format: 'hex', createdAt: '2026-01-01T00:00:00Z' });
  return { entry: { manifest, signature: signManifest(manifest, signer.privateKeyPem), uploadedAt: '2026-01-02T00:00:00.000Z' }, bytes: flattenImage(image).data };
}

async function hub(t: ExecutionContext, url: string, dir?: string): Promise<{ keys: TrustedKeys; images: FirmwareStore; dir: string }> {
  const store = await openPostgresStore(url, { log: () => undefined });
  t.teardown(() => store.close());
  let folder = dir;
  if (folder === undefined) {
    const temp = await makeTempDir('ep-fw-hub-');
    t.teardown(() => temp.remove());
    folder = temp.path;
  }
  const keys = await TrustedKeys.open(join(folder, 'keys'), [], store.firmware);
  const images = await FirmwareStore.open(join(folder, 'images'), quiet, store.firmware);
  return { keys, images, dir: folder };
}

test('a key trusted and an image pushed at hub A are trusted, found and served at hub B; untrusted at A, not at B', async (t) => {
  const url = await freshDatabase(t);
  const a = await hub(t, url);
  const b = await hub(t, url);
  const key = await a.keys.add(signer.publicKeyPem, new Date('2026-01-03T00:00:00Z'));
  const { entry, bytes } = signedImage('1.2.0', 7);
  t.is(await a.images.put(entry, bytes), 'created');
  t.false(b.keys.has(key.keyId), 'not before B reads the shared store');

  await b.keys.sync();
  await b.images.sync();
  t.true(b.keys.has(key.keyId));
  t.is(b.keys.list().find((k) => k.keyId === key.keyId)?.source, 'api');
  const sha = entry.manifest.sha256;
  t.deepEqual(b.images.get(sha), entry);
  t.is(b.images.findVersion('stm32f103', '1.2.0')?.manifest.sha256, sha, 'a rollout or flash led by B resolves the version');
  t.deepEqual(new Uint8Array(await readFile(b.images.imagePath(sha))), bytes, 'B serves the same bytes from its copy');

  await a.keys.remove(key.keyId);
  await b.keys.sync();
  t.false(b.keys.has(key.keyId), 'untrusted at A: no longer trusted at B');

  // A hub opened later gets everything at its start; one that had images and keys of its own
  // before the hubs shared a store puts them there.
  const { entry: older, bytes: olderBytes } = signedImage('1.1.0', 3);
  const loneDir = await makeTempDir('ep-fw-lone-');
  t.teardown(() => loneDir.remove());
  const lonely = { keys: await TrustedKeys.open(join(loneDir.path, 'keys'), []), images: await FirmwareStore.open(join(loneDir.path, 'images'), quiet) };
  await lonely.keys.add(signer.publicKeyPem, new Date('2026-01-04T00:00:00Z'));
  await lonely.images.put(older, olderBytes);
  const c = await hub(t, url, loneDir.path);
  t.deepEqual(c.images.list().map((f) => f.manifest.version).sort(), ['1.1.0', '1.2.0']);
  await a.keys.sync();
  await a.images.sync();
  t.true(a.keys.has(key.keyId), 'the key C trusted before is trusted at A');
  t.deepEqual(new Uint8Array(await readFile(a.images.imagePath(older.manifest.sha256))), olderBytes);
});

test('two hubs pushing different images for one target and version at the same moment: one is stored, the other refused as a conflict', async (t) => {
  const url = await freshDatabase(t);
  const a = await hub(t, url);
  const b = await hub(t, url);
  const first = signedImage('3.0.0', 0x31);
  const second = signedImage('3.0.0', 0x32);
  // Both hubs checked their own copy (no 3.0.0 there) before either stored: the race the claim closes.
  const outcomes = await Promise.allSettled([a.images.put(first.entry, first.bytes), b.images.put(second.entry, second.bytes)]);
  const stored = outcomes.filter((o) => o.status === 'fulfilled');
  const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
  t.is(stored.length, 1, 'one push is stored');
  t.is(refused.length, 1, 'the other is refused');
  t.true(refused[0] instanceof FirmwareVersionTakenError, `a typed conflict: ${String(refused[0])}`);
  t.is((refused[0] as FirmwareVersionTakenError).code, 'FirmwareVersionTaken');
  await a.images.sync();
  await b.images.sync();
  const winner = outcomes[0]?.status === 'fulfilled' ? first : second;
  for (const [name, h] of [['A', a], ['B', b]] as const) {
    t.deepEqual(h.images.list().filter((f) => f.manifest.version === '3.0.0').map((f) => f.manifest.sha256), [winner.entry.manifest.sha256], `hub ${name} holds one 3.0.0 image, the stored one`);
  }
  // The same target in other letters is the same target (the hubs compare targets so).
  const shouted = signedImage('3.0.0', 0x33);
  const upper = { ...shouted.entry, manifest: { ...shouted.entry.manifest, target: 'STM32F103' } };
  const store = await openPostgresStore(url, { log: () => undefined });
  t.teardown(() => store.close());
  t.deepEqual(await store.firmware.putImage(upper.manifest.sha256, upper, shouted.bytes), { versionTakenBy: winner.entry.manifest.sha256 });
  t.is(await store.firmware.putImage(winner.entry.manifest.sha256, winner.entry, winner.bytes), 'exists');
});
