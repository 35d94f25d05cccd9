import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { JOIN_USERNAME, joinClientId, topics } from '../../src/protocol/index.js';
import type { RunningHub } from '../../src/hub/main.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

interface Context {
  hub: RunningHub;
  log: CapturedLog;
  a: { deviceId: string; password: string };
  b: { deviceId: string; password: string };
  cleanup: () => Promise<void>;
}

const ctx = {} as Context;

test.before(async () => {
  const dir = await makeTempDir('ep-access-');
  ctx.log = captureLog();
  ctx.hub = await startTestHub(dir.path, ctx.log.logger);
  ctx.a = await registerTestDevice(ctx.hub, 'access-board-a', ctx.log.logger);
  ctx.b = await registerTestDevice(ctx.hub, 'access-board-b', ctx.log.logger);
  ctx.cleanup = async () => {
    await ctx.hub.close();
    await dir.remove();
  };
});

test.after.always(async () => {
  await ctx.cleanup?.();
});

function connectDevice(device: { deviceId: string; password: string }, password = device.password): Promise<MqttClient> {
  return mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: device.deviceId, username: device.deviceId, password, reconnectPeriod: 0 });
}

/** The SUBACK code for one filter; mqtt.js rejects refused subscriptions, so unwrap that too. */
async function subscribeResult(client: MqttClient, filter: string): Promise<number | undefined> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted[0]?.qos;
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted[0];
  }
}

async function api(path: string): Promise<Response> {
  return fetch(`${ctx.hub.apiUrl}${path}`, { headers: { authorization: `Bearer ${ctx.hub.createdAdminToken ?? ''}` } });
}

/** MQTT 3.1.1 cannot NACK a publish: the broker refuses by closing the connection. */
function closedAfter(client: MqttClient, action: () => void): Promise<void> {
  return new Promise((resolve) => {
    client.once('close', () => resolve());
    action();
  });
}

test.serial('a device cannot publish to another device\'s topics', async (t) => {
  const client = await connectDevice(ctx.a);
  const before = (await (await api(`/v1/devices/${ctx.b.deviceId}`)).json()) as { state: string };
  await closedAfter(client, () => client.publish(topics.status(ctx.b.deviceId), JSON.stringify({ state: 'offline' })));
  t.true(ctx.log.has(new RegExp(`refused publish by ${ctx.a.deviceId} to ep/v1/d/${ctx.b.deviceId}/status`)));
  const after = (await (await api(`/v1/devices/${ctx.b.deviceId}`)).json()) as { state: string };
  t.is(after.state, before.state, "the other device's status is untouched");
  client.end(true);
});

test.serial('a device cannot publish its own desired state or rpc requests (those are the hub\'s)', async (t) => {
  for (const topic of [topics.desired(ctx.a.deviceId), topics.rpcRequest(ctx.a.deviceId)]) {
    const client = await connectDevice(ctx.a);
    await closedAfter(client, () => client.publish(topic, '{}'));
    t.true(ctx.log.has(new RegExp(`refused publish by ${ctx.a.deviceId} to ${topic}`)));
    client.end(true);
  }
});

test.serial('a device cannot subscribe to ep/v1/d/+/desired or to other devices, only to its own topics', async (t) => {
  const client = await connectDevice(ctx.a);
  const wildcard = await subscribeResult(client, `ep/v1/d/+/desired`);
  t.is(wildcard, 128, 'wildcard subscription refused (SUBACK 0x80)');
  const other = await subscribeResult(client, topics.desired(ctx.b.deviceId));
  t.is(other, 128, "other device's desired refused");
  const everything = await subscribeResult(client, '#');
  t.is(everything, 128, '# refused');
  const own = await subscribeResult(client, topics.desired(ctx.a.deviceId));
  t.is(own, 1, 'own desired granted');
  await client.endAsync();
});

test.serial('a join session can only read its own join response', async (t) => {
  const token = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'join-acl' });
  const nonce = randomBytes(16).toString('hex');
  const otherNonce = randomBytes(16).toString('hex');
  const client = await mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: joinClientId(nonce), username: JOIN_USERNAME, password: token.token, reconnectPeriod: 0 });
  const other = await subscribeResult(client, topics.joinResponse(otherNonce));
  t.is(other, 128, "another session's response is refused");
  const wildcard = await subscribeResult(client, 'ep/v1/join/+/res');
  t.is(wildcard, 128, 'wildcard over join responses is refused');
  const own = await subscribeResult(client, topics.joinResponse(nonce));
  t.is(own, 1, 'own response is granted');
  await closedAfter(client, () => client.publish(topics.joinRequest(otherNonce), '{}'));
  t.pass();
});

test.serial('wrong credentials and unknown join tokens are refused at CONNECT', async (t) => {
  const wrong = await t.throwsAsync(connectDevice(ctx.a, 'x'.repeat(43)));
  t.is((wrong as Error & { code?: number }).code, 4, 'bad username or password');
  const impostor = await t.throwsAsync(mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: ctx.b.deviceId, username: ctx.a.deviceId, password: ctx.a.password, reconnectPeriod: 0 }));
  t.is((impostor as Error & { code?: number }).code, 4, 'credentials of A under client id B are refused');
  const nonce = randomBytes(16).toString('hex');
  const unknown = await t.throwsAsync(mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: joinClientId(nonce), username: JOIN_USERNAME, password: 'abcdef.' + 'x'.repeat(32), reconnectPeriod: 0 }));
  t.is((unknown as Error & { code?: number }).code, 5, 'not authorized');
});

test.serial('malformed payloads are logged and dropped; the hub keeps working', async (t) => {
  const client = await connectDevice(ctx.a);
  await client.publishAsync(topics.facts(ctx.a.deviceId), 'this is not json', { qos: 1 });
  await client.publishAsync(topics.facts(ctx.a.deviceId), JSON.stringify({ ...gatewayFacts(), cpu: { model: 'x', cores: 'eight' } }), { qos: 1 });
  await waitFor('malformed facts logged', () => ctx.log.has(/dropped message on ep\/v1\/d\/[^/]+\/facts: payload is not JSON/));
  await waitFor('invalid facts logged with the field', () => ctx.log.has(/dropped message on ep\/v1\/d\/[^/]+\/facts: cpu\.cores: /));
  await client.publishAsync(topics.facts(ctx.a.deviceId), JSON.stringify(gatewayFacts({ hostname: 'renamed-after-garbage' })), { qos: 1 });
  await waitFor('valid facts after garbage are applied', async () => ((await (await api(`/v1/devices/${ctx.a.deviceId}`)).json()) as { hostname: string }).hostname === 'renamed-after-garbage');
  t.pass();
  await client.endAsync();
});

test.serial('oversized payloads are refused by the broker; a giant packet header closes the socket before its body', async (t) => {
  const client = await connectDevice(ctx.a);
  await closedAfter(client, () => client.publish(topics.facts(ctx.a.deviceId), 'x'.repeat(100 * 1024)));
  t.true(ctx.log.has(/bytes exceeds 65536/));

  // A raw PUBLISH header announcing 200 MB: aedes would buffer it all; the guard must not.
  const [host, port] = ctx.hub.brokerUrl.replace('mqtt://', '').split(':');
  const socket = tcpConnect(Number(port), host ?? '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x60])); // PUBLISH, remaining length 201,326,592
  await closed;
  t.true(ctx.log.has(/exceeds the limit/));
  const health = await fetch(`${ctx.hub.apiUrl}/healthz`);
  t.is(health.status, 200, 'hub still serves');
});
