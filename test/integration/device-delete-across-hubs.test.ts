// Issue 15: a device deleted through one hub loses its MQTT session on another. Two hubs share a
// PostgreSQL store and a Redis; the device holds a session on hub B's broker; it is deleted
// through hub A's API. Hub B ends the session (told by A's change notice), and the device's next
// CONNECT, at either hub, is refused: its credentials went with its record.
import test from 'ava';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createLogger } from '../../src/common/log.js';
import { startHub, type RunningHub } from '../../src/hub/main.js';
import { registerTestDevice } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { freshDatabase, sharedSecretKeyFile } from '../support/postgres.js';
import { startTestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const log = createLogger('test', 'error');

test('a device deleted through hub A has its session on hub B closed, and cannot connect again', async (t) => {
  const url = await freshDatabase(t);
  const redis = await startTestRedis();
  const dir = await makeTempDir('ep-delete-across-');
  const hubs: RunningHub[] = [];
  const clients: mqtt.MqttClient[] = [];
  t.teardown(async () => {
    for (const client of clients) client.end(true);
    for (const hub of hubs) await hub.close().catch(() => undefined);
    await redis.stop();
    await dir.remove();
  });
  // Hubs sharing a store share the Secret key.
  const [, secretKeyFile = ''] = await sharedSecretKeyFile(dir.path);
  const start = async (hubId: string): Promise<RunningHub> => {
    const hub = await startHub(
      { dataDir: join(dir.path, hubId), apiHost: '127.0.0.1', apiPort: 0, mqttHost: '127.0.0.1', mqttPort: 0, autoscaleIntervalSeconds: 15, logLevel: 'error', insecure: true, store: url, redisUrl: redis.url, hubId, secretKeyFile },
      log,
    );
    hubs.push(hub);
    return hub;
  };
  const a = await start('hub-a');
  const b = await start('hub-b');
  const adminToken = a.createdAdminToken ?? '';

  const device = await registerTestDevice(a, 'delete-board-1', log);
  const connect = (hub: RunningHub): mqtt.MqttClient => {
    const client = mqtt.connect(hub.brokerUrl, { clientId: device.deviceId, username: device.deviceId, password: device.password, reconnectPeriod: 0, connectTimeout: 5000 });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  const atB = connect(b);
  await new Promise<void>((resolve, reject) => {
    atB.once('connect', () => resolve());
    atB.once('close', () => reject(new Error('the device could not connect to hub B')));
  });
  let closed = false;
  atB.once('close', () => (closed = true));

  const answer = await fetch(`${a.apiUrl}/v1/devices/${device.deviceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
  t.is(answer.status, 200, await answer.text());
  await waitFor("hub B to close the deleted device's session", () => closed, 15_000, 100);
  t.false(atB.connected);

  // Its next CONNECT is refused at either hub (not authorized: the record and its credentials are gone).
  for (const hub of [b, a]) {
    const again = connect(hub);
    const outcome = await new Promise<string>((resolve) => {
      again.once('connect', () => resolve('connected'));
      again.once('error', (err) => resolve(`refused: ${err.message}`));
      again.once('close', () => resolve('closed'));
    });
    t.regex(outcome, /^refused: .*(Not authorized|Bad username or password)/i, `at ${hub.apiUrl}`);
  }
});
