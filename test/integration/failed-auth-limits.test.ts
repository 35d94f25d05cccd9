import test from 'ava';
import mqtt from 'mqtt';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { defaultDeviceMessageLimits } from '../../src/hub/limits/device-message-throttle.js';
import type { RunningHub } from '../../src/hub/main.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';

/**
 * Issue 13: repeated wrong API tokens, and repeated CONNECTs with wrong device credentials, from
 * one address are slowed (429 with Retry-After; CONNACK 3) without locking out other addresses.
 * Loopback is all of 127/8 on Linux, so 127.0.0.2 and 127.0.0.3 are "other machines" here.
 */
const ctx = {} as { hub: RunningHub; log: CapturedLog; cleanup: () => Promise<void> };

test.before(async () => {
  const dir = await makeTempDir('ep-failed-auth-');
  ctx.log = captureLog();
  // Three failures at once, then one a minute: the test never waits for a refill.
  ctx.hub = await startTestHub(dir.path, ctx.log.logger, undefined, {
    limits: { deviceMessages: defaultDeviceMessageLimits, failedAuth: { perSecond: 1 / 60, capacity: 3 } },
  });
  ctx.cleanup = async () => {
    await ctx.hub.close();
    await dir.remove();
  };
});
test.after.always(async () => ctx.cleanup?.());

function get(path: string, token: string, from: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, ctx.hub.apiUrl), { headers: { authorization: `Bearer ${token}` }, localAddress: from }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('wrong API tokens from one address: 401 until its budget is spent, then 429 with Retry-After; the admin elsewhere is not locked out', async (t) => {
  const admin = ctx.hub.createdAdminToken ?? '';
  for (let i = 0; i < 3; i++) t.is((await get('/v1/devices', `wrong-${i}`, '127.0.0.2')).status, 401);
  const slowed = await get('/v1/devices', 'wrong-4', '127.0.0.2');
  t.is(slowed.status, 429);
  t.true(Number(slowed.retryAfter) >= 1, `Retry-After ${slowed.retryAfter}`);
  t.regex(slowed.body, /too many requests with a wrong token from this address; retry in \d+ s/);
  t.is((await get('/v1/devices', admin, '127.0.0.2')).status, 429, 'the guessing address is not let in even with the right token (its token is not read)');
  t.is((await get('/v1/devices', admin, '127.0.0.1')).status, 200, 'the admin on another address works');
  t.is((await get('/v1/devices', 'wrong-again', '127.0.0.1')).status, 401, 'and another address has its own budget');
  t.is((await get('/v1/bootstrap', 'wrong', '127.0.0.2')).status, 200, 'public routes do not care');
});

/** One MQTT CONNECT from `from`; resolves to the CONNACK code (0: accepted). */
function connack(deviceId: string, password: string, from: string): Promise<number> {
  const { hostname, port } = new URL(ctx.hub.brokerUrl);
  const client = new mqtt.MqttClient(() => createConnection({ host: hostname, port: Number(port), localAddress: from }), {
    clientId: deviceId,
    username: deviceId,
    password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.once('error', (err) => {
      client.end(true);
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') resolve(code);
      else reject(err);
    });
  });
}

test('wrong device credentials from one address: CONNACK 4 until its budget is spent, then 3 (server unavailable) unread; the fleet elsewhere connects', async (t) => {
  const device = await registerTestDevice(ctx.hub, 'failed-auth-board', ctx.log.logger);
  for (let i = 0; i < 3; i++) t.is(await connack(device.deviceId, `guess-${i}`, '127.0.0.3'), 4, 'bad username or password');
  t.is(await connack(device.deviceId, 'guess-4', '127.0.0.3'), 3, 'slowed: server unavailable, and agents back off with jitter on it');
  t.is(await connack(device.deviceId, device.password, '127.0.0.3'), 3, 'the credentials of a guessing address are not even checked');
  t.is(await connack(device.deviceId, device.password, '127.0.0.1'), 0, 'the device from another address connects');
  t.true(ctx.log.has(/refused device .* from 127\.0\.0\.3: wrong credentials/), 'the hub log names the address');
});
