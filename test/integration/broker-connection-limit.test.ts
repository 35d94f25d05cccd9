// The embedded broker takes connections up to its cap (the open-files limit less the hub's own
// files): one more is closed at once and said in one warning, and those it holds keep working.
// At the limit itself every open failed with EMFILE, the store's writes included.
import test from 'ava';
import mqtt from 'mqtt';
import { createConnection } from 'node:net';
import { createLogger } from '../../src/common/log.js';
import { startEmbeddedBroker } from '../../src/hub/broker/embedded-broker.js';
import { waitFor } from '../support/wait.js';

const passwordOf = (id: string): string => `pw-${id}-0123456789abcdef0123456789abcdef`;

test('a connection beyond the cap is closed at once with a warning; the connected devices keep working', async (t) => {
  const warnings: string[] = [];
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    maxConnections: 2,
    log: createLogger('test', 'warn', (line) => warnings.push(line)),
    authority: { hubSecret: 'hub-secret-for-this-test-0123456789', verifyDevice: async (device, password) => password === passwordOf(device), joinTokenKnown: async () => false },
  });
  broker.admitDevices();
  const connect = (id: string) => mqtt.connectAsync(broker.url, { clientId: id, username: id, password: passwordOf(id), reconnectPeriod: 0, connectTimeout: 3000 });
  const [one, two] = await Promise.all([connect('cap-1'), connect('cap-2')]);
  t.teardown(async () => {
    await Promise.all([one.endAsync(true), two.endAsync(true)]);
    await broker.close();
  });
  // A third TCP connection is closed before it can say anything.
  const port = new URL(broker.url).port;
  const closed = await new Promise<boolean>((resolve) => {
    const socket = createConnection(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(true));
    setTimeout(() => (socket.destroy(), resolve(false)), 5000).unref();
  });
  t.true(closed, 'closed at once');
  await waitFor('the warning', async () => (warnings.some((w) => w.includes('closed 1 MQTT connection(s) at once') && w.includes('holds 2 connections')) ? true : undefined));
  // The two it holds still get their packets answered.
  await one.publishAsync('ep/v1/d/cap-1/metrics', '{}', { qos: 1 });
  await two.publishAsync('ep/v1/d/cap-2/metrics', '{}', { qos: 1 });
  t.is(broker.connectedClients(), 2);
});
