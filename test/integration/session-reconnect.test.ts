// The agent's session reconnects by itself (jittered backoff, not mqtt.js's fixed period): a
// report in flight when the broker dropped the connection is sent again and its caller answered.
import test, { type ExecutionContext } from 'ava';
import { Aedes, type Client } from 'aedes';
import mqtt from 'mqtt';
import { createServer, type Server } from 'node:net';
import { createLogger } from '../../src/common/log.js';
import { DeviceSession } from '../../src/device-agent/session/device-session.js';
import { topics } from '../../src/protocol/index.js';

/** Listens on an ephemeral loopback port, closed with the broker at the test's end. */
async function listen(t: ExecutionContext, broker: Aedes, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    server.close();
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** A device's session with the broker on `port`, retrying fast. */
const sessionOn = (port: number, deviceId: string): DeviceSession =>
  new DeviceSession({
    brokerUrl: `mqtt://127.0.0.1:${port}`,
    deviceId,
    password: 'p',
    keepaliveSeconds: 30,
    agentVersion: 'test',
    bootId: 'boot',
    connect: mqtt.connect,
    log: createLogger('test', 'error'),
    reconnectBackoff: { baseMs: 100, capMs: 200 },
  });

test('a QoS 1 report in flight when the broker drops the connection is delivered after the reconnect', async (t) => {
  const broker = await Aedes.createBroker();
  const port = await listen(t, broker, createServer(broker.handle));
  const deviceId = 'dev-reconnect';
  const delivered: string[] = [];
  let held: Client | undefined;
  // The first report is never acknowledged: the broker drops that connection instead.
  broker.authorizePublish = (client, packet, callback) => {
    if (packet.topic === topics.device(deviceId, 'reported') && held === undefined && client) {
      held = client;
      setTimeout(() => client.close(), 50);
      return;
    }
    if (packet.topic === topics.device(deviceId, 'reported')) delivered.push(packet.payload.toString());
    callback(null);
  };
  const session = sessionOn(port, deviceId);
  t.teardown(() => session.stop());
  let connections = 0;
  const connected = new Promise<void>((resolve) =>
    session.on('connected', () => {
      connections += 1;
      resolve();
    }),
  );
  session.start();
  await connected;
  const report = { observedGeneration: 1, time: new Date().toISOString(), instances: [] };
  const sent = session.publishState('reported', report, true);
  const outcome = await Promise.race([sent.then(() => 'answered'), new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000))]);
  t.is(outcome, 'answered');
  for (let i = 0; i < 100 && connections < 2; i++) await new Promise((r) => setTimeout(r, 50));
  t.true(connections >= 2, 'the session reconnected by itself');
  t.deepEqual(delivered.map((p) => JSON.parse(p) as unknown), [report], 'the report reached the broker once the connection was back');
});

/** The MQTT packets in a chunk that holds whole packets: type, and the topic of each PUBLISH (MQTT 3.1.1 §2.2, §3.3.2). */
function packetsIn(chunk: Buffer): string[] {
  const found: string[] = [];
  let at = 0;
  while (at < chunk.length) {
    const type = (chunk[at] ?? 0) >> 4;
    let length = 0;
    let multiplier = 1;
    let i = at + 1;
    for (;;) {
      const byte = chunk[i++] ?? 0;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) break;
    }
    const names: Record<number, string> = { 1: 'CONNECT', 3: 'PUBLISH', 4: 'PUBACK', 8: 'SUBSCRIBE', 12: 'PINGREQ' };
    const name = names[type] ?? `type ${type}`;
    found.push(type === 3 ? `${name} ${chunk.subarray(i + 2, i + 2 + chunk.readUInt16BE(i)).toString()}` : name);
    at = i + length;
  }
  return found;
}

test('on connect the session sends its subscriptions, its status and what its listeners publish in one flight, not one round trip each', async (t) => {
  const broker = await Aedes.createBroker();
  // Every chunk the broker reads from the device, in order (a restart storm's cost for the hub is per read and per write).
  const reads: Buffer[] = [];
  const port = await listen(
    t,
    broker,
    createServer((socket) => {
      socket.on('data', (chunk: Buffer) => reads.push(chunk));
      broker.handle(socket);
    }),
  );
  const deviceId = 'dev-flight';
  const session = sessionOn(port, deviceId);
  t.teardown(() => session.stop());
  // As the agent's facts reporter does on every connection.
  session.on('connected', () => void session.publishState('facts', { hostname: 'x' }, true));
  const connected = new Promise<void>((resolve) => session.on('connected', () => resolve()));
  session.start();
  await connected;
  for (let i = 0; i < 100 && reads.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(packetsIn(reads[0]!), ['CONNECT']);
  t.deepEqual(packetsIn(reads[1]!), ['SUBSCRIBE', `PUBLISH ${topics.status(deviceId)}`, `PUBLISH ${topics.device(deviceId, 'facts')}`]);
});
