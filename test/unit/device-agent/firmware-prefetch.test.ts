import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { firmwarePrefetcher } from '../../../src/device-agent/gateway/firmware-prefetch.js';
import type { DeviceEvent } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

const KEY_ID = '0123456789abcdef';
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent } as never;

test('firmware is fetched ahead into the flash handler\'s download cache, once; a failure is an event and is not retried at once', async (t) => {
  const dir = await makeTempDir('ep-fw-prefetch-');
  t.teardown(() => dir.remove());
  const image = Buffer.from('firmware image bytes');
  const sha = createHash('sha256').update(image).digest('hex');
  const requests: string[] = [];
  let manifestOk = false;
  const fakeFetch = (async (url: string) => {
    requests.push(String(url).replace(/^.*\/v1\/firmware\//, ''));
    if (String(url).includes('/manifest')) {
      if (!manifestOk) return new Response('no such image', { status: 404 });
      const manifest = { schema: 1, sha256: sha, size: image.length, target: 'stm32f103', version: '2.1.0', loadAddress: 0x08000000, createdAt: '2026-01-01T00:00:00.000Z', format: 'bin' };
      return new Response(JSON.stringify({ manifest, signature: { keyId: KEY_ID, value: 'AA==' } }));
    }
    return new Response(image);
  }) as typeof fetch;
  const events: Omit<DeviceEvent, 'time'>[] = [];
  let now = 0;
  const prefetcher = firmwarePrefetcher({ hubUrl: 'http://hub', deviceId: 'gw', password: 'p', fetch: fakeFetch, directory: dir.path }, (e) => events.push(e), silent, () => now);
  await prefetcher.prefetch([sha]);
  t.is(events.at(-1)?.reason, 'DownloadFailed');
  await prefetcher.prefetch([sha]);
  t.is(requests.length, 1, 'not retried within 30 s');
  manifestOk = true;
  now = 30_000;
  await prefetcher.prefetch([sha]);
  t.is(events.at(-1)?.reason, 'Downloaded', JSON.stringify(events));
  t.deepEqual(await readFile(join(dir.path, `${sha}.bin`)), image, 'where the flash handler looks first');
  const before = requests.length;
  await prefetcher.prefetch([sha]);
  t.is(requests.length, before, 'downloaded once');
});
