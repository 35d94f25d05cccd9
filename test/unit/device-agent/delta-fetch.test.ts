// The gateway's image fetch with deltas (src/device-agent/gateway/delta-fetch.ts) against a
// fake hub: a delta from the kept image is patched and checked; no delta, a damaged delta or
// a delta from the wrong base fall back to the whole image and say why.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { makeDelta } from '../../../src/firmware/delta/index.js';
import type { KeptImage } from '../../../src/firmware/update/kept-images.js';
import { obtainImage } from '../../../src/device-agent/gateway/delta-fetch.js';
import type { FirmwareSource } from '../../../src/device-agent/gateway/firmware-fetch.js';
import { makeTempDir } from '../../support/paths.js';
import { prng } from '../../support/prng.js';

const random = prng(11);
const v1 = new Uint8Array(4096).map(() => Math.floor(random() * 256));
const v2 = new Uint8Array([...v1.subarray(0, 2000), 0xde, 0xad, 0xbe, 0xef, ...v1.subarray(2000, 4000)]);
const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const wanted = { sha256: sha(v2), size: v2.length };
const kept: KeptImage = { version: '1.0.0', origin: 'flashed', loadAddress: 0x0800_0000, data: v1 };

interface FakeHub {
  readonly source: FirmwareSource;
  readonly requests: string[];
}

async function fakeHub(t: ExecutionContext, delta: (from: string) => Response): Promise<FakeHub> {
  const dir = await makeTempDir('ep-delta-fetch-');
  t.teardown(() => dir.remove());
  const requests: string[] = [];
  const fake = (input: string | URL | Request): Promise<Response> => {
    const url = new URL(String(input));
    requests.push(url.pathname);
    if (url.pathname === '/v1/firmware/delta') return Promise.resolve(delta(url.searchParams.get('from') ?? ''));
    if (url.pathname === '/v1/firmware/download') return Promise.resolve(new Response(v2, { status: 200 }));
    return Promise.resolve(new Response('{}', { status: 404 }));
  };
  return { source: { hubUrl: 'http://hub.test', deviceId: 'd1', password: 'p', fetch: fake as typeof fetch, directory: dir.path }, requests };
}

test('a delta from the kept image is patched, checked and used: no image download', async (t) => {
  const hub = await fakeHub(t, (from) => (from === sha(v1) ? new Response(makeDelta(v1, v2)) : new Response('{"message":"no base"}', { status: 404 })));
  const got = await obtainImage(hub.source, wanted, kept);
  t.is(got.via, 'delta');
  t.deepEqual(got.bytes, v2);
  t.deepEqual(hub.requests, ['/v1/firmware/delta']);
  t.true(got.via === 'delta' && got.delta.deltaBytes < v2.length / 10);
  // The patched image is kept like a download: asking again costs nothing.
  const again = await obtainImage(hub.source, wanted, kept);
  t.is(again.via, 'cache');
  t.is(hub.requests.length, 1);
});

test('no delta on the hub: the whole image, and the hub’s reason', async (t) => {
  const hub = await fakeHub(t, () => new Response('{"message":"the hub does not hold the base image"}', { status: 404 }));
  const got = await obtainImage(hub.source, wanted, kept);
  t.is(got.via, 'full');
  t.deepEqual(got.bytes, v2);
  t.like(got.delta, { kind: 'unavailable' });
  t.regex(got.delta?.kind === 'unavailable' ? got.delta.why : '', /no delta from the kept 1\.0\.0: the hub does not hold the base image/);
  t.deepEqual(hub.requests, ['/v1/firmware/delta', '/v1/firmware/download']);
});

test('a damaged delta, or one that makes another image, falls back to the whole image and says why', async (t) => {
  const damaged = Buffer.from(makeDelta(v1, v2));
  damaged[40] = (damaged[40] ?? 0) ^ 0xff;
  const hub = await fakeHub(t, () => new Response(damaged));
  const got = await obtainImage(hub.source, wanted, kept);
  t.is(got.via, 'full');
  t.deepEqual(got.bytes, v2);
  t.is(got.delta?.kind, 'failed');
  t.regex(got.delta?.kind === 'failed' ? got.delta.why : '', /the delta from 1\.0\.0 does not apply|does not match the manifest's sha256/);

  const other = new Uint8Array(v2);
  other[10] = (other[10] ?? 0) ^ 1;
  const wrong = await fakeHub(t, () => new Response(makeDelta(v1, other)));
  const got2 = await obtainImage(wrong.source, wanted, kept);
  t.is(got2.via, 'full');
  t.regex(got2.delta?.kind === 'failed' ? got2.delta.why : '', /does not match the manifest's sha256/);
});

test('a delta as large as the image is not read to the end', async (t) => {
  const hub = await fakeHub(t, () => new Response(new Uint8Array(v2.length + 10)));
  const got = await obtainImage(hub.source, wanted, kept);
  t.is(got.via, 'full');
  t.regex(got.delta?.kind === 'failed' ? got.delta.why : '', /no smaller than the \d+-byte image/);
});

test('the kept image is the wanted one: nothing is fetched; nothing kept: the whole image', async (t) => {
  const hub = await fakeHub(t, () => new Response('', { status: 500 }));
  const same = await obtainImage(hub.source, wanted, { ...kept, version: '1.1.0', data: v2 });
  t.is(same.via, 'kept');
  t.deepEqual(hub.requests, []);
  const none = await obtainImage(hub.source, wanted, undefined);
  t.is(none.via, 'full');
  t.deepEqual(hub.requests, ['/v1/firmware/download']);
});
