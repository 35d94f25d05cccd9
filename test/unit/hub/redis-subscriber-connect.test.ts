// A subscriber connection of the shared MQTT layer (src/hub/broker/redis-layer.ts) that subscribes
// while it is still connecting: ioredis writes SUBSCRIBE before its ready check (INFO), which Redis
// then refuses ("Connection in subscriber mode"), and ioredis treated that as fatal: an error, a
// disconnect and a reconnect, so the hub flapped degraded and missed messages in between. Seen in
// the hub log of `npm run bench -- registration --hubs 3 --store postgres` at hub start.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { connectSharedMessaging } from '../../../src/hub/broker/redis-layer.js';
import { startTestRedis } from '../../support/redis.js';

test('a subscriber connection that subscribes while connecting becomes ready once, with no error and no reconnect', async (t) => {
  const redis = await startTestRedis();
  const warnings: string[] = [];
  const layer = connectSharedMessaging(redis.url, { ...createLogger('test', 'error'), warn: (m: string) => void warnings.push(m) });
  t.teardown(async () => {
    await layer.close();
    await redis.stop();
  });
  const conn = layer.connection('probe-sub');
  const statuses: string[] = [];
  conn.on('connect', () => {
    statuses.push('connect');
    // What aedes' emitter does when a client subscribes at this moment.
    void conn.subscribe('edgepilot:probe').catch(() => undefined);
  });
  conn.on('ready', () => statuses.push('ready'));
  conn.on('reconnecting', () => statuses.push('reconnecting'));
  const received = new Promise<string>((resolve) => conn.on('message', (_channel: string, message: string) => resolve(message)));
  // Without the fix it never stays: connect, refused ready check, reconnect, for ever.
  const ready = await Promise.race([new Promise((r) => conn.once('ready', () => r(true))), new Promise((r) => setTimeout(() => r(false), 10_000))]);
  t.true(ready, `ready (statuses: ${statuses.join(', ')}; warnings: ${warnings.join('; ')})`);
  if (!ready) return;
  // Long enough for a failed ready check's reconnect to show.
  await new Promise((r) => setTimeout(r, 500));
  const publisher = layer.connection('probe-pub');
  await publisher.publish('edgepilot:probe', 'hello');
  t.is(await received, 'hello');
  t.deepEqual(statuses, ['connect', 'ready'], 'connected and ready once');
  t.deepEqual(warnings, []);
});
