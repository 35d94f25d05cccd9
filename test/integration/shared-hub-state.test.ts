// Issue 15: what people create at one hub holds at every hub sharing the store. Two hubs (in this
// process, as startHub runs them) on one PostgreSQL and one Redis: an API token made at A opens B
// and, revoked at A, is refused at B; a key trusted and an image pushed at A are listed and
// downloaded at B; `GET /v1/audit` at B has both hubs' writes, each naming its hub.
import test from 'ava';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';
import { createImage, flattenImage } from '../../src/firmware/image/image.js';
import { createManifest } from '../../src/firmware/manifest/manifest.js';
import { generateSigningKeyPair, signManifest } from '../../src/firmware/manifest/signing.js';
import { startHub, type RunningHub } from '../../src/hub/main.js';
import type { AuditEntry, FirmwareUpload } from '../../src/protocol/index.js';
import { makeTempDir } from '../support/paths.js';
import { freshDatabase, sharedSecretKeyFile } from '../support/postgres.js';
import { startTestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const log = createLogger('test', 'error');

test('API tokens, firmware keys and images, and the audit log are the same at both hubs', async (t) => {
  const url = await freshDatabase(t);
  const redis = await startTestRedis();
  const dir = await makeTempDir('ep-shared-state-');
  const hubs: RunningHub[] = [];
  t.teardown(async () => {
    for (const hub of hubs) await hub.close().catch(() => undefined);
    await redis.stop();
    await dir.remove();
  });
  const [, secretKeyFile = ''] = await sharedSecretKeyFile(dir.path);
  const start = async (hubId: string): Promise<RunningHub> => {
    const hub = await startHub(
      { dataDir: join(dir.path, hubId), apiHost: '127.0.0.1', apiPort: 0, mqttHost: '127.0.0.1', mqttPort: 0, autoscaleIntervalSeconds: 15, logLevel: 'error', insecure: true, store: url, redisUrl: redis.url, hubId, secretKeyFile },
      log,
    );
    hubs.push(hub);
    return hub;
  };
  const a = await start('hub-a');
  const b = await start('hub-b');
  const admin = a.createdAdminToken ?? '';
  const call = async (hub: RunningHub, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const answer = await fetch(`${hub.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await answer.text();
    return { status: answer.status, body: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

  // People's tokens.
  const made = await call(a, admin, 'POST', '/v1/api-tokens', { name: 'alice', role: 'operator' });
  t.is(made.status, 201, JSON.stringify(made.body));
  const alice = made.body['token'] as string;
  await waitFor('alice\'s token to open hub B', async () => (await call(b, alice, 'GET', '/v1/devices')).status === 200, 10_000);
  t.is((await call(a, admin, 'DELETE', '/v1/api-tokens/alice')).status, 200);
  await waitFor('alice\'s revoked token to be refused at hub B', async () => (await call(b, alice, 'GET', '/v1/devices')).status === 401, 10_000);
  t.is((await call(b, admin, 'POST', '/v1/api-tokens', { name: 'bob', role: 'viewer' })).status, 201);

  // Firmware: trusted and pushed at A, listed and downloaded at B.
  const signer = generateSigningKeyPair();
  t.is((await call(a, admin, 'POST', '/v1/firmware/keys', { publicKeyPem: signer.publicKeyPem })).status, 201);
  const image = createImage([{ address: 0x0800_0000, data: new Uint8Array(2048).fill(9) }]);
  const bytes = flattenImage(image).data;
  const manifest = createManifest(image, { target: 'stm32f103', version: '3.0.0', format: 'hex', createdAt: '2026-01-01T00:00:00Z' });
  const upload: FirmwareUpload = { manifest, signature: signManifest(manifest, signer.privateKeyPem), image: Buffer.from(bytes).toString('base64') };
  const pushed = await call(a, admin, 'POST', '/v1/firmware', upload);
  t.is(pushed.status, 201, JSON.stringify(pushed.body));
  await waitFor('the image to be listed at hub B', async () => ((await call(b, admin, 'GET', '/v1/firmware')).body['items'] as { sha256: string; keyTrusted: boolean }[]).some((f) => f.sha256 === manifest.sha256 && f.keyTrusted), 10_000);
  const download = await fetch(`${b.apiUrl}/v1/firmware/download?sha256=${manifest.sha256}`, { headers: { authorization: `Bearer ${admin}` } });
  t.is(download.status, 200);
  t.deepEqual(new Uint8Array(await download.arrayBuffer()), bytes);

  // One audit log, read at B: the writes made through A and through B, each naming its hub.
  const audit = (await call(b, admin, 'GET', '/v1/audit')).body['items'] as AuditEntry[];
  const writes = audit.map((e) => `${e.hub} ${e.method} ${e.route}`);
  for (const expected of ['hub-a POST /v1/api-tokens', 'hub-a DELETE /v1/api-tokens/:name', 'hub-b POST /v1/api-tokens', 'hub-a POST /v1/firmware/keys', 'hub-a POST /v1/firmware']) {
    t.true(writes.includes(expected), `${expected} in ${JSON.stringify(writes)}`);
  }
});
