// Two hubs whose embedded brokers share one real Redis (issue 15, part B): the hub list in
// `GET /v1/hubs` and /v1/bootstrap, and what a hub does while Redis is down (degraded, writes
// refused with MessagingUnavailable) and after (recovers by itself). Each hub has its own lowdb
// store here; sharing a store (PostgreSQL) is part A's.
import test from 'ava';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';
import { startHub, type RunningHub } from '../../src/hub/main.js';
import { bootstrapSchema, hubViewSchema, listSchema } from '../../src/protocol/index.js';
import { makeTempDir } from '../support/paths.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const log = createLogger('test', 'error');
let redis: TestRedis;
const hubs: RunningHub[] = [];
let removeDir: () => Promise<void> = async () => undefined;

async function startNamedHub(root: string, hubId: string): Promise<RunningHub> {
  const hub = await startHub(
    {
      dataDir: join(root, hubId),
      apiHost: '127.0.0.1',
      apiPort: 0,
      mqttHost: '127.0.0.1',
      mqttPort: 0,
      autoscaleIntervalSeconds: 15,
      logLevel: 'error',
      insecure: true,
      redisUrl: redis.url,
      hubId,
    },
    log,
  );
  hubs.push(hub);
  return hub;
}

function api(hub: RunningHub, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${hub.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${hub.createdAdminToken ?? ''}`, 'content-type': 'application/json', ...init.headers } });
}

const manifest = JSON.stringify({
  manifests: [{ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'blink' }, spec: { replicas: 1, template: { runtime: 'container', image: 'local/busybox:latest', command: ['sleep', '3600'] } } }],
});

let a: RunningHub;
let b: RunningHub;

test.before(async () => {
  redis = await startTestRedis();
  const dir = await makeTempDir('ep-hubs-');
  removeDir = dir.remove;
  a = await startNamedHub(dir.path, 'hub-a');
  b = await startNamedHub(dir.path, 'hub-b');
});

test.after.always(async () => {
  for (const hub of hubs) await hub.close().catch(() => undefined);
  await redis?.stop();
  await removeDir();
});

test.serial('every hub lists the live hubs, itself first, and hands them to agents in /v1/bootstrap', async (t) => {
  const listed = await waitFor('hub A to list both hubs', async () => {
    const list = listSchema(hubViewSchema).parse(await (await api(a, '/v1/hubs')).json());
    return list.items.length === 2 ? list.items : undefined;
  });
  t.deepEqual(listed.map((h) => h.id), ['hub-a', 'hub-b']);
  t.true(listed.every((h) => h.state === 'ok'));
  t.is(listed[1]!.apiUrl, b.apiUrl);
  t.is(listed[1]!.brokerUrl, b.brokerUrl);
  const bootstrap = bootstrapSchema.parse(await (await fetch(`${b.apiUrl}/v1/bootstrap`)).json());
  t.deepEqual(bootstrap.hubs?.map((h) => h.id), ['hub-b', 'hub-a']);
  t.is(bootstrap.hubs?.[0]?.brokerUrl, bootstrap.brokerUrl, "the asking agent's own hub comes first, as it reached it");
});

test.serial('with Redis down a hub is degraded and refuses writes with MessagingUnavailable; it recovers by itself', async (t) => {
  const first = await api(a, '/v1/apply', { method: 'POST', body: manifest });
  t.is(first.status, 200, await first.text());
  await redis.stop();
  const health = await waitFor('hub A to report degraded', async () => {
    const answer = await fetch(`${a.apiUrl}/healthz`);
    return answer.status === 503 ? ((await answer.json()) as { status: string; reason: string }) : undefined;
  });
  t.is(health.status, 'degraded');
  t.regex(health.reason, /redis/);
  const refused = await api(a, '/v1/apply', { method: 'POST', body: manifest });
  t.is(refused.status, 503);
  t.is(((await refused.json()) as { error: string }).error, 'MessagingUnavailable');
  const self = listSchema(hubViewSchema).parse(await (await api(a, '/v1/hubs')).json()).items[0];
  t.is(self?.state, 'degraded', 'get hubs shows it too');
  t.regex(self?.reason ?? '', /redis/);
  // Reads still work.
  t.is((await api(a, '/v1/workloads')).status, 200);

  await redis.start();
  await waitFor('hub A to be healthy again', async () => (await fetch(`${a.apiUrl}/healthz`)).status === 200, 20_000);
  t.is((await api(a, '/v1/apply', { method: 'POST', body: manifest })).status, 200);
  // Redis came back empty (it saves nothing): the hubs announce themselves again.
  await waitFor('hub B to list hub A again', async () => listSchema(hubViewSchema).parse(await (await api(b, '/v1/hubs')).json()).items.length === 2, 20_000);
  t.pass();
});
