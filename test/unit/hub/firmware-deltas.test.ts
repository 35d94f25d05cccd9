// The hub's firmware store makes a BSDF2 delta between two stored images on first request,
// keeps it under deltas/, and makes it once for concurrent requests.
import test from 'ava';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { applyDelta } from '../../../src/firmware/delta/index.js';
import { createImage, flattenImage } from '../../../src/firmware/image/image.js';
import { createManifest } from '../../../src/firmware/manifest/manifest.js';
import { generateSigningKeyPair, signManifest } from '../../../src/firmware/manifest/signing.js';
import { FirmwareStore } from '../../../src/hub/firmware/firmware-store.js';
import { makeTempDir } from '../../support/paths.js';
import { prng } from '../../support/prng.js';

const quiet = createLogger('test', 'error', () => undefined);
const signer = generateSigningKeyPair();

function image(version: string, data: Uint8Array): { entry: Parameters<FirmwareStore['put']>[0]; bytes: Uint8Array } {
  const img = createImage([{ address: 0x0800_0000, data }]);
  const manifest = createManifest(img, { target: 'stm32f103', version, format: 'hex', createdAt: '2026-01-01T00:00:00Z' });
  return { entry: { manifest, signature: signManifest(manifest, signer.privateKeyPem), uploadedAt: '2026-01-02T00:00:00.000Z' }, bytes: flattenImage(img).data };
}

function twoVersions(): [ReturnType<typeof image>, ReturnType<typeof image>] {
  const random = prng(7);
  const v1 = new Uint8Array(8192).map(() => Math.floor(random() * 256));
  const v2 = new Uint8Array([...v1.subarray(0, 4000), 1, 2, 3, 4, 5, 6, 7, 8, ...v1.subarray(4000)]);
  return [image('1.0.0', v1), image('1.1.0', v2)];
}

test('a delta between two stored images is made on request, applies to the older one, and is kept on disk', async (t) => {
  const dir = await makeTempDir('ep-fw-delta-');
  t.teardown(() => dir.remove());
  const store = await FirmwareStore.open(dir.path, quiet);
  const [v1, v2] = twoVersions();
  await store.put(v1.entry, v1.bytes);
  await store.put(v2.entry, v2.bytes);
  const from = v1.entry.manifest.sha256;
  const to = v2.entry.manifest.sha256;

  const [first, second] = await Promise.all([store.delta(from, to), store.delta(from, to)]);
  t.deepEqual(first, second);
  t.true(first.length < v2.bytes.length / 10, `${first.length} bytes`);
  t.deepEqual(applyDelta(v1.bytes, first, { expectedSize: v2.bytes.length }), v2.bytes);
  t.deepEqual(await readdir(join(dir.path, 'deltas')), [`${from}-${to}.bsdf2`]);

  // Later requests are answered from the kept file (planted here to show it is read, not remade).
  await writeFile(join(dir.path, 'deltas', `${from}-${to}.bsdf2`), 'kept');
  t.is(Buffer.from(await store.delta(from, to)).toString(), 'kept');
  // The store still opens with the deltas folder beside the images.
  const reopened = await FirmwareStore.open(dir.path, quiet);
  t.is(reopened.list().length, 2);
});

test('a delta needs both images in the store', async (t) => {
  const dir = await makeTempDir('ep-fw-delta-');
  t.teardown(() => dir.remove());
  const store = await FirmwareStore.open(dir.path, quiet);
  const [v1, v2] = twoVersions();
  await store.put(v1.entry, v1.bytes);
  await t.throwsAsync(store.delta(v1.entry.manifest.sha256, v2.entry.manifest.sha256), { instanceOf: RangeError, message: /no stored image/ });
});
