// After a restart the embedded broker has forgotten every retained message; a device that
// reconnects must still find its current desired document, with the generation the store holds.
// The hub hands its broker the stored documents before it accepts anyone (`retained`), connects
// its own session in-process, and admits devices once that session is subscribed.
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '../../src/common/log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/hub/broker/embedded-broker.js';
import { openLowdbStore } from '../../src/hub/store/lowdb-store.js';
import { desiredStateSchema, topics, type DesiredState } from '../../src/protocol/index.js';
import { captureLog, registerTestDevice, startTestHub } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** An embedded broker on an ephemeral loopback port that knows no join tokens. */
const localBroker = (verifyDevice: () => Promise<boolean>, extra: { admitBatch?: number } = {}): Promise<EmbeddedBroker> =>
  startEmbeddedBroker({ host: '127.0.0.1', port: 0, log: createLogger('broker', 'error'), authority: { hubSecret: 'x'.repeat(32), verifyDevice, joinTokenKnown: async () => false }, ...extra });

/** Until the broker holds this many CONNECTs (devices knocking before the hub admitted them). */
async function waitForHeld(broker: EmbeddedBroker, count: number): Promise<void> {
  for (let i = 0; i < 250 && broker.heldConnections() < count; i++) await new Promise((r) => setTimeout(r, 20));
}

/** The first message on the device's desired topic after it subscribes (a retained one, or none within the bound). */
async function firstDesired(client: MqttClient, deviceId: string): Promise<{ desired: DesiredState; retained: boolean } | undefined> {
  const received = new Promise<{ desired: DesiredState; retained: boolean } | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5000);
    client.once('message', (_topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ desired: desiredStateSchema.parse(JSON.parse(payload.toString())), retained: packet.retain });
    });
  });
  await client.subscribeAsync(topics.desired(deviceId), { qos: 1 });
  return received;
}

test('the embedded broker holds the retained messages it is started with, before the first connection', async (t) => {
  const document = { generation: 3, issuedAt: new Date(0).toISOString(), instances: [] };
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log: createLogger('broker', 'error'),
    authority: { hubSecret: 'x'.repeat(32), verifyDevice: async (id) => id === 'dev-a1', joinTokenKnown: async () => false },
    retained: [{ topic: topics.desired('dev-a1'), payload: Buffer.from(JSON.stringify(document)) }],
  });
  // Until the hub admits devices (its own session is up), a device's CONNECT is held unanswered.
  let answered = false;
  const connecting = mqtt.connectAsync(broker.url, { clientId: 'dev-a1', username: 'dev-a1', password: 'pw', reconnectPeriod: 0 }).finally(() => (answered = true));
  await waitForHeld(broker, 1);
  t.is(broker.heldConnections(), 1);
  await new Promise((r) => setTimeout(r, 100));
  t.false(answered, 'no CONNACK before the hub admits devices');
  broker.admitDevices();
  const client = await connecting;
  try {
    const first = await firstDesired(client, 'dev-a1');
    t.truthy(first, 'a retained desired document arrives at SUBSCRIBE');
    t.true(first?.retained);
    t.deepEqual(first?.desired, document);
  } finally {
    await client.endAsync();
    await broker.close();
  }
});

test("the hub's in-process session connects while devices are still held, and hears them once they are admitted", async (t) => {
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log: createLogger('broker', 'error'),
    authority: { hubSecret: 'h'.repeat(32), verifyDevice: async (id) => id === 'dev-b1', joinTokenKnown: async () => false },
  });
  const hub = new mqtt.MqttClient(() => broker.connectInProcess(), { clientId: 'edgepilot-hub-test', username: 'edgepilot-hub', password: 'h'.repeat(32), reconnectPeriod: 0 });
  const device = { clientId: 'dev-b1', username: 'dev-b1', password: 'pw', reconnectPeriod: 0 };
  try {
    await new Promise<void>((resolve, reject) => (hub.once('connect', () => resolve()), hub.once('error', reject)));
    t.true(hub.connected, 'the hub needs no listener and no admission');
    // A device that knocks while the hub starts is held, not refused: it is in at admission.
    const held = mqtt.connectAsync(broker.url, device);
    await hub.subscribeAsync(topics.status('+'), { qos: 1 });
    const heard = new Promise<string>((resolve) => hub.on('message', (topic) => resolve(topic)));
    await waitForHeld(broker, 1);
    t.is(broker.heldConnections(), 1);
    broker.admitDevices();
    const client = await held;
    await client.publishAsync(topics.status('dev-b1'), '{}', { qos: 1 });
    t.is(await heard, topics.status('dev-b1'));
    await client.endAsync();
    const wrongSecret = new mqtt.MqttClient(() => broker.connectInProcess(), { clientId: 'edgepilot-hub-x', username: 'edgepilot-hub', password: 'nope', reconnectPeriod: 0 });
    const code = await new Promise<number | undefined>((resolve) => wrongSecret.once('error', (err) => resolve((err as { code?: number }).code)));
    wrongSecret.end(true);
    t.is(code, 4, 'the in-process connection is authenticated like any other');
  } finally {
    hub.end(true);
    await broker.close();
  }
});

test('a restarted hub: every device finds its current desired document (the stored generation) when it reconnects', async (t) => {
  const dir = await makeTempDir('ep-restart-desired-');
  const log = captureLog();
  const hub = await startTestHub(dir.path, log.logger);
  const devices = [await registerTestDevice(hub, 'restart-a', log.logger), await registerTestDevice(hub, 'restart-b', log.logger)];
  await hub.close();
  // Documents as a previous life of the hub left them (generations that only grow, never reset).
  const store = await openLowdbStore(join(dir.path, 'hub'));
  const stored = new Map<string, DesiredState>();
  for (const [i, d] of devices.entries()) {
    const desired: DesiredState = { generation: 7 + i, issuedAt: new Date(0).toISOString(), instances: [] };
    stored.set(d.deviceId, desired);
    await store.deviceState.putDesired(d.deviceId, desired);
  }
  await store.close();

  const restartLog = captureLog();
  const again = await startTestHub(dir.path, restartLog.logger);
  // Handed to the broker at its start, not republished through MQTT while the fleet reconnects.
  t.true(restartLog.has(/holds 2 retained message\(s\) from the store/), restartLog.lines.filter((l) => /broker/.test(l)).join('\n'));
  const clients: MqttClient[] = [];
  try {
    for (const d of devices) {
      const client = await mqtt.connectAsync(again.brokerUrl, { clientId: d.deviceId, username: d.deviceId, password: d.password, reconnectPeriod: 0 });
      clients.push(client);
      const first = await firstDesired(client, d.deviceId);
      t.truthy(first, `${d.deviceId} finds a desired document`);
      t.true(first?.retained, 'as a retained message');
      t.deepEqual(first?.desired, stored.get(d.deviceId), 'the stored document, generation unchanged');
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
    await again.close();
    await dir.remove();
  }
});

test('held CONNECTs are admitted in paced batches, not as one burst, and every one is answered', async (t) => {
  const broker = await localBroker(async () => true, { admitBatch: 2 });
  const ids = ['dev-b1', 'dev-b2', 'dev-b3', 'dev-b4', 'dev-b5'];
  const connecting = ids.map((id) => mqtt.connectAsync(broker.url, { clientId: id, username: id, password: 'pw', reconnectPeriod: 0 }));
  await waitForHeld(broker, ids.length);
  t.is(broker.heldConnections(), ids.length);
  broker.admitDevices();
  // The first batch at once; the others on later turns of the event loop.
  t.is(broker.heldConnections(), ids.length - 2);
  await new Promise((r) => setImmediate(r));
  t.is(broker.heldConnections(), ids.length - 4);
  const clients = await Promise.all(connecting);
  t.is(broker.heldConnections(), 0);
  await Promise.all(clients.map((c) => c.endAsync()));
  await broker.close();
});

test('the broker listens with the largest accept queue the system allows, not Node\'s 511: a restarted fleet knocks while the hub is busy', async (t) => {
  const broker = await localBroker(async () => false);
  try {
    // For a listening socket, ss prints its accept-queue limit as Send-Q (iproute2).
    const { stdout } = await execFileAsync('ss', ['-Hltn', `sport = :${broker.port}`]);
    const [, , sendQ] = stdout.trim().split(/\s+/);
    const somaxconn = Number((await readFile('/proc/sys/net/core/somaxconn', 'utf8')).trim());
    t.is(Number(sendQ), Math.min(somaxconn, 65_535), stdout);
    t.true(Number(sendQ) > 511);
  } finally {
    await broker.close();
  }
});
