// A Redis blip longer than three broker heartbeats, with devices still connected to their hubs'
// brokers (issue 15). Nobody's heartbeat crosses while Redis is unreachable; when it came back,
// aedes took every broker for dead and published the stored wills of live devices: "offline",
// retained, for devices that never left (and their wills were then deleted). Two brokers reach a
// real Redis through a TCP relay the test cuts (Redis keeps its data, as in a network blip); the
// beat is 200 ms here (three beats: 600 ms, a will sweep every 800 ms), the cut 3 s. aedes' own
// sweeps after the cut rarely fall before the first beats (none did in five runs here), so the
// test also runs the sweep aedes would make at that moment.
import test, { type ExecutionContext } from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createLogger } from '../../src/common/log.js';
import { HUB_USERNAME } from '../../src/hub/broker/access-policy.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/hub/broker/embedded-broker.js';
import { connectSharedMessaging, type SharedMessagingLayer } from '../../src/hub/broker/redis-layer.js';
import { topics } from '../../src/protocol/index.js';
import { freePort } from '../support/mosquitto.js';
import { startTestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const log = createLogger('test', 'error');
const HUB_SECRET = 'hub-secret-for-both-brokers-in-this-test';
const passwordOf = (id: string): string => `pw-${id}-0123456789abcdef0123456789abcdef`;
const BEAT_MS = 200;

/** A TCP relay to Redis that can be cut (every connection dropped, new ones refused) and restored. */
async function relay(targetPort: number): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (): Promise<void> =>
    new Promise((resolve) => {
      server = createServer((inbound) => {
        const outbound = connect(targetPort, '127.0.0.1');
        for (const s of [inbound, outbound]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        inbound.pipe(outbound).pipe(inbound);
      }).listen(port, '127.0.0.1', () => resolve());
    });
  const cut = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await listen();
  return { url: `redis://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

interface Pair {
  link: Awaited<ReturnType<typeof relay>>;
  layers: SharedMessagingLayer[];
  brokers: EmbeddedBroker[];
  /** Each broker's hub session (subscribed to every device's status). */
  hubs: MqttClient[];
  clients: MqttClient[];
  statuses: string[];
}

/** Two brokers (hub-a, hub-b) reaching one Redis through a relay the test cuts, each with its hub's session. */
async function startPair(t: ExecutionContext): Promise<Pair> {
  const redis = await startTestRedis();
  const link = await relay(redis.port);
  const layers: SharedMessagingLayer[] = [];
  const brokers: EmbeddedBroker[] = [];
  const hubs: MqttClient[] = [];
  const clients: MqttClient[] = [];
  t.teardown(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    for (const b of brokers) await b.close().catch(() => undefined);
    for (const l of layers) await l.close();
    await link.close();
    await redis.stop();
  });
  const statuses: string[] = [];
  for (const id of ['hub-a', 'hub-b']) {
    const layer = connectSharedMessaging(link.url, log);
    layers.push(layer);
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      log,
      shared: layer,
      id,
      heartbeatMs: BEAT_MS,
      authority: { hubSecret: HUB_SECRET, verifyDevice: async (device, password) => password === passwordOf(device), joinTokenKnown: async () => false },
    });
    broker.admitDevices();
    brokers.push(broker);
    const hub = await mqtt.connectAsync(broker.url, { clientId: `edgepilot-hub-${id}`, username: HUB_USERNAME, password: HUB_SECRET, reconnectPeriod: 200 });
    clients.push(hub);
    hubs.push(hub);
    hub.on('message', (topic, payload) => statuses.push(`${id} heard ${topic} ${payload.toString()}`));
    await hub.subscribeAsync({ 'ep/v1/d/+/status': { qos: 1 } });
  }
  return { link, layers, brokers, hubs, clients, statuses };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a Redis blip of 3 s (five beats) publishes no will of a device still connected to its broker', async (t) => {
  t.timeout(60_000);
  const { link, layers, brokers, clients, statuses } = await startPair(t);
  // One device on each broker, each with its will (retained "offline"), each online.
  for (const [i, broker] of brokers.entries()) {
    const id = `blip-${i}`;
    const board = await mqtt.connectAsync(broker.url, {
      clientId: id,
      username: id,
      password: passwordOf(id),
      reconnectPeriod: 0,
      will: { topic: topics.status(id), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    clients.push(board);
    await board.publishAsync(topics.status(id), 'online', { qos: 1, retain: true });
  }
  await waitFor('both online statuses heard', async () => (statuses.filter((s) => s.endsWith(' online')).length >= 2 ? true : undefined));
  // Beats cross for a while (each broker has heard the other), then Redis is unreachable for 3 s.
  await pause(5 * BEAT_MS);
  await link.cut();
  await pause(3000);
  await link.restore();
  await waitFor('both layers healthy again', async () => (layers.every((l) => l.health().ok) ? true : undefined), 20_000, 50);
  // The sweep aedes makes when Redis is back and its map of live brokers is empty (it forgot them
  // all while it heard nothing), run now rather than waiting for its timer to fall before the
  // first beats arrive: it must find no will to publish. It found both devices' (run without the fix).
  for (const layer of layers) {
    const sweep = layer.persistence as { streamWill(brokers: Record<string, number>): AsyncIterable<{ clientId: string }> };
    const due: string[] = [];
    for await (const will of sweep.streamWill({})) due.push(will.clientId);
    t.deepEqual(due, [], 'no will is due right after Redis returns');
  }
  // Several will sweeps (every 800 ms) after Redis is back.
  await pause(4000);
  t.deepEqual(
    statuses.filter((s) => s.endsWith(' offline')),
    [],
    'no will of a connected device was published',
  );
  for (const [i, broker] of brokers.entries()) {
    const id = `blip-${i}`;
    const reader = await mqtt.connectAsync(broker.url, { clientId: `edgepilot-hub-reader-${i}`, username: HUB_USERNAME, password: HUB_SECRET, reconnectPeriod: 0 });
    clients.push(reader);
    const retained = new Promise<string>((resolve) => reader.on('message', (topic, payload) => topic === topics.status(id) && resolve(payload.toString())));
    await reader.subscribeAsync(topics.status(id), { qos: 1 });
    t.is(await retained, 'online', `${id}'s retained status`);
  }
  // A device that really goes (its connection drops without DISCONNECT) is still said offline.
  clients[2]!.stream.destroy();
  await waitFor('the lost device said offline', async () => (statuses.some((s) => s.includes(`${topics.status('blip-0')} offline`)) ? true : undefined), 10_000, 50);
  t.pass();
});

test('a subscription made while Redis is unreachable gets what is published for it once Redis is back', async (t) => {
  t.timeout(60_000);
  const { link, layers, hubs } = await startPair(t);
  const id = 'moved-1';
  await link.cut();
  await waitFor('both layers degraded', async () => (layers.every((l) => !l.health().ok) ? true : undefined), 10_000, 50);
  // Hub A's session subscribes to topics nobody at A wanted before, as a device reaching A in the
  // outage subscribes to its own: an exact topic and a filter with a wildcard. (It did not end
  // the process: the SUBSCRIBE's retained messages could not be read.)
  const received: string[] = [];
  hubs[0]!.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  const exact = topics.desired(id);
  await hubs[0]!.subscribeAsync(exact, { qos: 0 }).catch(() => undefined);
  await hubs[0]!.subscribeAsync('ep/v1/d/+/reported', { qos: 0 }).catch(() => undefined);
  await pause(1500);
  await link.restore();
  await waitFor('both layers healthy again', async () => (layers.every((l) => l.health().ok) ? true : undefined), 20_000, 50);
  // What is published at hub A reaches hub A's session only through Redis (mqemitter-redis
  // delivers its own publishes back from there): it arrives once A subscribed again.
  const arrives = (from: MqttClient, topic: string, payload: string): Promise<true> =>
    waitFor(`${topic} ${payload} to arrive at hub A`, async () => {
      await from.publishAsync(topic, payload, { qos: 0 });
      await pause(200);
      return received.includes(`${topic} ${payload}`) ? true : undefined;
    }, 8000, 100);
  await arrives(hubs[0]!, exact, '{"generation":2}');
  await arrives(hubs[0]!, topics.reported(id), '{"observedGeneration":2}');
  t.pass();
});

test('a device connecting while Redis is unreachable is refused at once with "server unavailable" (3), so its agent tries another hub', async (t) => {
  t.timeout(60_000);
  const { link, layers, brokers } = await startPair(t);
  await link.cut();
  await waitFor('both layers degraded', async () => (layers.every((l) => !l.health().ok) ? true : undefined), 10_000, 50);
  const id = 'late-1';
  // Without the refusal the CONNECT waited unanswered (aedes waits for Redis to take the session):
  // the agent's CONNACK timeout (10 s) passed before it moved on. 5 s here is the test's bound only.
  const device = mqtt.connect(brokers[0]!.url, { clientId: id, username: id, password: passwordOf(id), reconnectPeriod: 0, connectTimeout: 5000 });
  const answer = await new Promise<string>((resolve) => {
    device.once('connect', () => resolve('accepted'));
    device.once('error', (err) => resolve(`refused with code ${String((err as { code?: number }).code)}`));
    // mqtt.js closes a connection whose CONNACK did not come in connectTimeout, without an error.
    device.once('close', () => resolve('closed without a CONNACK'));
    setTimeout(() => resolve('no CONNACK within 5 s'), 5000).unref();
  });
  device.end(true);
  t.is(answer, 'refused with code 3');
  await link.restore();
  await waitFor('both layers healthy again', async () => (layers.every((l) => l.health().ok) ? true : undefined), 20_000, 50);
  const client = await mqtt.connectAsync(brokers[0]!.url, { clientId: id, username: id, password: passwordOf(id), reconnectPeriod: 0, connectTimeout: 5000 });
  t.true(client.connected, 'let in once Redis is back');
  await client.endAsync(true);
});
