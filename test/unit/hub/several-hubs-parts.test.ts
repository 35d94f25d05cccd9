import test from 'ava';
import { EventEmitter } from 'node:events';
import { createLogger } from '../../../src/common/log.js';
import { BROKER_HEARTBEAT_MS, reportIsOurs } from '../../../src/hub/broker/embedded-broker.js';
import { layerHealth } from '../../../src/hub/broker/redis-layer.js';
import { DeviceFeed } from '../../../src/hub/fleet/device-feed.js';
import { ChangeNotices, type NoticeLinks } from '../../../src/hub/hubs/change-notices.js';
import { HubRegistry, type HubDirectory } from '../../../src/hub/hubs/hub-registry.js';
import { hubConfigFromFlags } from '../../../src/hub/hub-command.js';
import type { HubView } from '../../../src/protocol/index.js';

const log = createLogger('test', 'error');
const status = 'ep/v1/d/board-1/status';

test('a hub takes its own broker\'s reports, replayed retained ones, RPC answers, and wills of dead brokers only', (t) => {
  const now = 1_000_000;
  const long = { listeningSince: now - 10 * BROKER_HEARTBEAT_MS, now };
  t.true(reportIsOurs({ topic: status, brokerId: 'a' }, 'a', { ...long, lastBeat: { a: now, b: now } }));
  t.true(reportIsOurs({ topic: status, brokerId: null }, 'a', { ...long, lastBeat: {} }));
  t.false(reportIsOurs({ topic: status, brokerId: 'b' }, 'a', { ...long, lastBeat: { b: now - 1000 } }), 'b is alive: its hub takes it');
  t.true(reportIsOurs({ topic: 'ep/v1/d/board-1/rpc/res/abcdefgh12', brokerId: 'b' }, 'a', { ...long, lastBeat: { b: now } }));
  t.true(reportIsOurs({ topic: status, brokerId: 'b' }, 'a', { ...long, lastBeat: { b: now - 4 * BROKER_HEARTBEAT_MS } }), 'b stopped beating: its wills are ours');
  t.true(reportIsOurs({ topic: status, brokerId: 'gone' }, 'a', { ...long, lastBeat: {} }));
  t.false(reportIsOurs({ topic: status, brokerId: 'b' }, 'a', { listeningSince: now - 1000, now, lastBeat: {} }), 'too new to know who is alive');
});

/** Two hubs' notices over one in-memory channel, as Redis pub/sub would carry them. */
function bus(): { links: () => NoticeLinks } {
  const channel = new EventEmitter();
  return {
    links: () => {
      const subscriber = new EventEmitter();
      channel.on('message', (message: Buffer) => subscriber.emit('messageBuffer', Buffer.from('edgepilot:changes'), message));
      return {
        publisher: { publish: async (_c: string, message: string) => (channel.emit('message', Buffer.from(message)), 1) },
        subscriber: Object.assign(subscriber, { subscribe: async () => 1, unsubscribe: async () => 1 }),
      } as unknown as NoticeLinks;
    },
  };
}

test('change notices carry device changes and writes to the other hubs, never back to their sender', async (t) => {
  const shared = bus();
  const feedA = new DeviceFeed();
  const feedB = new DeviceFeed();
  let writtenAtB = 0;
  let writtenAtA = 0;
  const seenAtA: string[] = [];
  const seenAtB: string[] = [];
  feedA.subscribe((id, _type, aspect) => seenAtA.push(`${id}:${aspect}`));
  feedB.subscribe((id, _type, aspect) => seenAtB.push(`${id}:${aspect}`));
  const a = new ChangeNotices({ hubId: 'hub-a', links: shared.links(), feed: feedA, written: () => (writtenAtA += 1), log });
  const b = new ChangeNotices({ hubId: 'hub-b', links: shared.links(), feed: feedB, written: () => (writtenAtB += 1), log });
  await a.start();
  await b.start();
  feedA.changed('board-1', 'MODIFIED', 'reported');
  a.written();
  await a.flush();
  t.deepEqual(seenAtB, ['board-1:reported']);
  t.is(writtenAtB, 1);
  t.is(writtenAtA, 0, 'a hub does not act on its own notice');
  t.deepEqual(seenAtA, ['board-1:reported'], 'only the local change, not echoed back');
  await b.flush();
  t.deepEqual(seenAtA, ['board-1:reported'], 'hub B does not send hub A\'s change back');
  a.stop();
  b.stop();
});

test('a device deleted through one hub is named to the others, which end its session there; other changes are not', async (t) => {
  const shared = bus();
  const feedA = new DeviceFeed();
  const deletedAtB: string[] = [];
  const deletedAtA: string[] = [];
  const a = new ChangeNotices({ hubId: 'hub-a', links: shared.links(), feed: feedA, written: () => undefined, deletedElsewhere: (id) => deletedAtA.push(id), log });
  const b = new ChangeNotices({ hubId: 'hub-b', links: shared.links(), feed: new DeviceFeed(), written: () => undefined, deletedElsewhere: (id) => deletedAtB.push(id), log });
  await a.start();
  await b.start();
  feedA.changed('board-1', 'MODIFIED', 'status');
  feedA.changed('board-2', 'DELETED', 'registration');
  await a.flush();
  t.deepEqual(deletedAtB, ['board-2']);
  t.deepEqual(deletedAtA, [], 'the deleting hub closes its own session itself, not through its notice');
  a.stop();
  b.stop();
});

test('the shared layer is degraded by a connection that lost Redis or failed, not by one still making its first connection', (t) => {
  const ready = { role: 'persistence', status: 'ready', wasReady: true, failed: false };
  t.deepEqual(layerHealth([ready, { role: 'registry', status: 'connecting', wasReady: false, failed: false }], undefined), { ok: true }, 'starting, not down');
  t.deepEqual(layerHealth([ready, { role: 'registry', status: 'connecting', wasReady: false, failed: true }], 'connect ECONNREFUSED'), {
    ok: false,
    reason: 'redis unreachable (connect ECONNREFUSED)',
  }, 'Redis down at start');
  t.deepEqual(layerHealth([ready, { role: 'registry', status: 'reconnecting', wasReady: true, failed: false }], undefined), { ok: false, reason: 'redis unreachable (registry reconnecting)' }, 'lost it');
});

function view(id: string, leading = false): HubView {
  return { id, apiUrl: `http://${id}:7080`, brokerUrl: `mqtt://${id}:1883`, leading, state: 'ok', connections: 0, load1: 0, cpus: 2, cpu: 0, startedAt: new Date(0).toISOString(), heartbeatAt: new Date(0).toISOString() };
}

test('the registry lists this hub first; with its directory unreachable, this hub alone', async (t) => {
  const entries = new Map<string, HubView>();
  let reachable = true;
  const directory: HubDirectory = {
    announce: async (v) => void entries.set(v.id, v),
    withdraw: async (id) => void entries.delete(id),
    live: async () => {
      if (!reachable) throw new Error('ECONNREFUSED');
      return [...entries.values()];
    },
  };
  entries.set('hub-c', view('hub-c'));
  entries.set('hub-a', view('hub-a', true));
  const registry = new HubRegistry({ directory, self: () => view('hub-b'), intervalMs: 1000, log });
  await registry.heartbeat();
  t.deepEqual((await registry.list()).map((h) => h.id), ['hub-b', 'hub-a', 'hub-c']);
  reachable = false;
  t.deepEqual((await registry.list()).map((h) => h.id), ['hub-b']);
  await registry.stop();
  t.false(entries.has('hub-b'), 'a hub that stops withdraws at once');
  const alone = new HubRegistry({ self: () => view('solo'), intervalMs: 1000, log });
  t.deepEqual((await alone.list()).map((h) => h.id), ['solo']);
});

test('hub flags: --redis, --hub-id and --advertise-api are checked, naming the flag', (t) => {
  const base = { listen: '127.0.0.1:7080', mqttListen: '127.0.0.1:1883', writeConfig: false, autoscaleInterval: '15' };
  const config = hubConfigFromFlags({ ...base, redis: 'redis://10.0.0.9:6379', hubId: 'hub-a', advertiseApi: 'https://hub-a.plant:7080' }, {});
  t.is(config.redisUrl, 'redis://10.0.0.9:6379');
  t.is(config.hubId, 'hub-a');
  t.is(config.advertiseApi, 'https://hub-a.plant:7080');
  t.throws(() => hubConfigFromFlags({ ...base, redis: 'http://x' }, {}), { message: /--redis/ });
  t.throws(() => hubConfigFromFlags({ ...base, hubId: 'Hub_A' }, {}), { message: /--hub-id/ });
  t.throws(() => hubConfigFromFlags({ ...base, redis: 'redis://x:6379', broker: 'mqtt://m:1883' }, {}), { message: /--redis .* --broker/ });
  t.throws(() => hubConfigFromFlags({ ...base, advertiseApi: 'hub-a:7080' }, {}), { message: /--advertise-api/ });
});
