// Messages through brokers that share Redis (issue 15) reach their subscribers whether or not
// they are retained. aedes numbers a message when its PUBLISH starts and drops, per client, one
// whose number is not above the last it forwarded from that broker; over Redis a retained message
// leaves only after its write to Redis, so a plain message published right after it overtook it,
// and the retained one was dropped for every subscriber: in a 3-hub registration storm a quarter
// of the devices' "online" statuses reached no hub (src/hub/broker/emit-order.ts). Here devices
// publish their retained statuses while another device sends plain messages without pause; the
// hub's session must hear every status. Without the fix most are dropped.
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '../../src/common/log.js';
import { HUB_USERNAME } from '../../src/hub/broker/access-policy.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/hub/broker/embedded-broker.js';
import { connectSharedMessaging, type SharedMessagingLayer } from '../../src/hub/broker/redis-layer.js';
import { topics } from '../../src/protocol/index.js';
import { startTestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const log = createLogger('test', 'error');
const HUB_SECRET = 'hub-secret-for-both-brokers-in-this-test';
const passwordOf = (id: string): string => `pw-${id}-0123456789abcdef0123456789abcdef`;
const DEVICES = 20;

test('retained statuses published right before plain messages reach the hub session, every one', async (t) => {
  t.timeout(60_000);
  const redis = await startTestRedis();
  const layers: SharedMessagingLayer[] = [];
  const brokers: EmbeddedBroker[] = [];
  const clients: MqttClient[] = [];
  t.teardown(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    for (const b of brokers) await b.close().catch(() => undefined);
    for (const l of layers) await l.close();
    await redis.stop();
  });
  // One broker is enough: over Redis even its own sessions hear its messages only as Redis hands them back.
  const layer = connectSharedMessaging(redis.url, log);
  layers.push(layer);
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log,
    shared: layer,
    id: 'hub-a',
    authority: { hubSecret: HUB_SECRET, verifyDevice: async (device, password) => password === passwordOf(device), joinTokenKnown: async () => false },
  });
  broker.admitDevices();
  brokers.push(broker);
  const hub = await mqtt.connectAsync(broker.url, { clientId: 'edgepilot-hub-a', username: HUB_USERNAME, password: HUB_SECRET, reconnectPeriod: 0 });
  clients.push(hub);
  const heard = new Set<string>();
  hub.on('message', (topic) => {
    if (topic.endsWith('/status')) heard.add(topic);
  });
  // As the hub subscribes (src/protocol/topics.ts hubSubscriptions): statuses and metrics at QoS 0.
  await hub.subscribeAsync({ 'ep/v1/d/+/status': { qos: 0 }, 'ep/v1/d/+/metrics': { qos: 0 } });

  const ids = Array.from({ length: DEVICES }, (_, i) => `order-${i}`);
  const boards = await Promise.all(ids.map((id) => mqtt.connectAsync(broker.url, { clientId: id, username: id, password: passwordOf(id), reconnectPeriod: 0 })));
  const chatty = await mqtt.connectAsync(broker.url, { clientId: 'order-chatty', username: 'order-chatty', password: passwordOf('order-chatty'), reconnectPeriod: 0 });
  clients.push(...boards, chatty);
  // While the devices connect (each publishes its retained status), others send plain messages:
  // numbered after a status, sent before its write to Redis has come back.
  let chatting = true;
  const chatter = (async () => {
    while (chatting) await Promise.all(Array.from({ length: 20 }, () => chatty.publishAsync(topics.metrics('order-chatty'), '{}', { qos: 0 })));
  })();
  await Promise.all(boards.map((board, i) => board.publishAsync(topics.status(ids[i] ?? ''), 'online', { qos: 1, retain: true })));
  const want = ids.map((id) => topics.status(id)).sort();
  // Long enough for every one to arrive; a dropped status never does.
  await waitFor('every status heard', async () => (heard.size === DEVICES ? true : undefined), 10_000, 50).catch(() => undefined);
  chatting = false;
  await chatter;
  t.deepEqual([...heard].sort(), want);
});
