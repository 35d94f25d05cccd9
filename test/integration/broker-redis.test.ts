// Two embedded brokers (two hubs' MQTT sides) sharing one real Redis (issue 15): messages cross,
// retained documents are visible through either, a QoS 1 session survives moving, each hub
// ingests only its own devices' reports, and a device session fails over to the other broker.
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '../../src/common/log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/hub/broker/embedded-broker.js';
import { HUB_USERNAME } from '../../src/hub/broker/access-policy.js';
import { connectSharedMessaging, type SharedMessagingLayer } from '../../src/hub/broker/redis-layer.js';
import { DeviceSession } from '../../src/device-agent/session/device-session.js';
import { topics } from '../../src/protocol/index.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const log = createLogger('test', 'error');
const HUB_SECRET = 'hub-secret-for-both-brokers-in-this-test';
const passwordOf = (id: string): string => `pw-${id}-0123456789abcdef0123456789abcdef`;

interface Side {
  layer: SharedMessagingLayer;
  broker: EmbeddedBroker;
  hub: MqttClient;
  received: string[];
}

let redis: TestRedis;
const sides: Side[] = [];
const clients: MqttClient[] = [];

async function startSide(id: string): Promise<Side> {
  const layer = connectSharedMessaging(redis.url, log);
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log,
    shared: layer,
    id,
    authority: { hubSecret: HUB_SECRET, verifyDevice: async (device, password) => password === passwordOf(device), joinTokenKnown: async () => false },
  });
  broker.admitDevices();
  const hub = await mqtt.connectAsync(broker.url, { clientId: `edgepilot-hub-${id}`, username: HUB_USERNAME, password: HUB_SECRET, reconnectPeriod: 0 });
  const received: string[] = [];
  hub.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  await hub.subscribeAsync({ 'ep/v1/d/+/status': { qos: 1 }, 'ep/v1/d/+/rpc/res/+': { qos: 1 } });
  const side = { layer, broker, hub, received };
  sides.push(side);
  return side;
}

async function device(broker: EmbeddedBroker, id: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { clientId: id, username: id, password: passwordOf(id), reconnectPeriod: 0, ...options });
  clients.push(client);
  return client;
}

function nextMessage(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve(payload.toString());
    };
    client.on('message', onMessage);
  });
}

let a: Side;
let b: Side;

test.before(async () => {
  redis = await startTestRedis();
  a = await startSide('hub-a');
  b = await startSide('hub-b');
});

test.after.always(async () => {
  for (const client of clients) await client.endAsync(true).catch(() => undefined);
  for (const side of sides) {
    await side.hub.endAsync(true).catch(() => undefined);
    await side.broker.close().catch(() => undefined);
    await side.layer.close();
  }
  await redis?.stop();
});

test.serial('a device on broker A receives what the hub publishes at broker B', async (t) => {
  const board = await device(a.broker, 'cross-1');
  await board.subscribeAsync(topics.desired('cross-1'), { qos: 1 });
  const arrived = nextMessage(board, topics.desired('cross-1'));
  await b.hub.publishAsync(topics.desired('cross-1'), '{"generation":1}', { qos: 1 });
  t.is(await arrived, '{"generation":1}');
});

test.serial('a retained desired document is visible through either broker', async (t) => {
  await a.hub.publishAsync(topics.desired('retained-1'), '{"generation":7}', { qos: 1, retain: true });
  for (const side of [a, b]) {
    const board = await device(side.broker, 'retained-1');
    const arrived = nextMessage(board, topics.desired('retained-1'));
    await board.subscribeAsync(topics.desired('retained-1'), { qos: 1 });
    t.is(await arrived, '{"generation":7}', `through ${side.broker.id}`);
    await board.endAsync();
  }
});

test.serial('a QoS 1 session survives moving from broker A to broker B', async (t) => {
  const first = await device(a.broker, 'mover-1', { clean: false });
  await first.subscribeAsync(topics.desired('mover-1'), { qos: 1 });
  await first.endAsync();
  // Published while the device is away: queued in Redis for its session.
  await b.hub.publishAsync(topics.desired('mover-1'), '{"generation":3}', { qos: 1 });
  const second = mqtt.connect(b.broker.url, { clientId: 'mover-1', username: 'mover-1', password: passwordOf('mover-1'), clean: false, reconnectPeriod: 0 });
  clients.push(second);
  const arrived = nextMessage(second, topics.desired('mover-1'));
  t.is(await arrived, '{"generation":3}');
});

test.serial('each hub ingests the reports of the devices on its own broker; RPC answers reach any hub', async (t) => {
  const onA = await device(a.broker, 'ingest-a');
  const onB = await device(b.broker, 'ingest-b');
  // QoS 1 and its PUBACK: Redis has the first publish before the second is sent.
  await onA.publishAsync(topics.status('ingest-a'), 'from-a', { qos: 1 });
  await onB.publishAsync(topics.status('ingest-b'), 'from-b', { qos: 1 });
  await waitFor('hub B to receive its own device', () => b.received.some((m) => m.endsWith('from-b')));
  await waitFor('hub A to receive its own device', () => a.received.some((m) => m.endsWith('from-a')));
  t.false(b.received.some((m) => m.endsWith('from-a')), 'hub B took a report of a device on broker A');
  t.false(a.received.some((m) => m.endsWith('from-b')), 'hub A took a report of a device on broker B');
  // Only the asking hub waits for an answer, wherever the device is.
  await onA.publishAsync(topics.rpcResponse('ingest-a', 'c0ffee-answer-1'), 'answer', { qos: 1 });
  await waitFor('hub B to receive the RPC answer of a device on A', () => b.received.some((m) => m.endsWith('answer')));
  t.pass();
});

test.serial('a device session moves to the other broker when its own closes, and keeps receiving', async (t) => {
  const c = await startSide('hub-c');
  const session = new DeviceSession({
    brokerUrl: c.broker.url,
    otherBrokerUrls: [a.broker.url],
    deviceId: 'failover-1',
    password: passwordOf('failover-1'),
    keepaliveSeconds: 5,
    agentVersion: '0.0.0-test',
    bootId: 'boot-1',
    connect: (url, options) => mqtt.connect(url, options),
    log,
    reconnectBackoff: { baseMs: 50, capMs: 200 },
  });
  const messages: string[] = [];
  session.on('message', (topic, payload) => {
    if (topic === topics.desired('failover-1')) messages.push(payload.toString());
  });
  let connections = 0;
  session.on('connected', () => (connections += 1));
  session.start();
  try {
    await waitFor('the session to connect to broker C', () => connections === 1);
    await c.hub.endAsync(true);
    await c.broker.close();
    await waitFor('the session to reconnect at broker A', () => connections === 2, 20_000);
    await b.hub.publishAsync(topics.desired('failover-1'), '{"generation":9}', { qos: 1 });
    await waitFor('the document published at broker B to arrive', () => messages.includes('{"generation":9}'));
    t.pass();
  } finally {
    await session.stop();
  }
});
