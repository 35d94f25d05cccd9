// A hub that answers CONNACK 3 "server unavailable" (MQTT 3.1.1 §3.2.2.3: its Redis is down, or it
// is still starting) sends the agent on to another hub it knows, with the credentials it has: no
// re-join, no new password, and no waiting out the slow refusal retry meant for bad credentials.
import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { createLogger } from '../../src/common/log.js';
import { startEmbeddedBroker } from '../../src/hub/broker/embedded-broker.js';
import { DeviceSession } from '../../src/device-agent/session/device-session.js';
import { waitFor } from '../support/wait.js';

const log = createLogger('test', 'error');
const passwordOf = (id: string): string => `pw-${id}-0123456789abcdef0123456789abcdef`;

/** A listener that answers every CONNECT (packet type 1) with CONNACK return code 3 and closes. */
async function unavailableHub(): Promise<{ url: string; connects: number[]; close(): Promise<void> }> {
  const connects: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (bytes) => {
      if (bytes[0] !== 0x10) return void socket.destroy();
      connects.push(Date.now());
      // CONNACK: type 2, remaining length 2, no session present, return code 3.
      socket.end(Buffer.from([0x20, 0x02, 0x00, 0x03]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    connects,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

test('an agent refused with CONNACK 3 moves to the other hub it knows, with its credentials kept', async (t) => {
  t.timeout(30_000);
  const busy = await unavailableHub();
  const logins: string[] = [];
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log,
    authority: {
      hubSecret: 'hub-secret-for-the-failover-test-0123456789',
      verifyDevice: async (device, password) => {
        logins.push(`${device} ${password === passwordOf(device) ? 'good' : 'bad'} password`);
        return password === passwordOf(device);
      },
      joinTokenKnown: async () => false,
    },
  });
  broker.admitDevices();
  let renewals = 0;
  const session = new DeviceSession({
    brokerUrl: busy.url,
    otherBrokerUrls: [broker.url],
    deviceId: 'busy-1',
    password: passwordOf('busy-1'),
    keepaliveSeconds: 5,
    agentVersion: '0.0.0-test',
    bootId: 'boot-1',
    connect: (url, options) => mqtt.connect(url, options),
    log,
    reconnectBackoff: { baseMs: 50, capMs: 200 },
    // The retry after a refusal of credentials would take a minute: the move must not wait for it.
    refusedRetry: { initialMs: 60_000, maxMs: 60_000 },
    random: () => 0.999,
    renewCredentials: async () => {
      renewals += 1;
      return undefined;
    },
  });
  t.teardown(async () => {
    await session.stop();
    await broker.close();
    await busy.close();
  });
  let connected = 0;
  session.on('connected', () => (connected += 1));
  session.start();
  await waitFor('the session connected to the other hub', () => (connected > 0 ? true : undefined), 20_000, 20);
  t.true(busy.connects.length >= 1, 'the first hub was asked and refused');
  t.deepEqual(logins, ['busy-1 good password'], 'one login at the other hub, with the password the device had');
  t.is(renewals, 0, 'no credentials were asked for anew');
});
