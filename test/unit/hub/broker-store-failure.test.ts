// The embedded broker when the store cannot answer its credential checks (PostgreSQL down or
// saturated): CONNACK 3 "server unavailable", which agents retry with backoff, not 5 "not
// authorized", which told a joining agent its token was refused for good (it gave up) and a
// device that the hub no longer accepted its credentials. Found by the 3-hub registration bench.
import test from 'ava';
import mqtt from 'mqtt';
import { createLogger } from '../../../src/common/log.js';
import { startEmbeddedBroker } from '../../../src/hub/broker/embedded-broker.js';

const storeDown = (): Promise<never> => Promise.reject(Object.assign(new Error('the store (PostgreSQL at 127.0.0.1:5432) is unavailable: Query read timeout'), { code: 'StoreUnavailable' }));

async function connackCode(url: string, options: mqtt.IClientOptions): Promise<number | undefined> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    await client.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

test('a store that does not answer makes device and join connections "server unavailable" (retry), not "not authorized"', async (t) => {
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log: createLogger('test', 'error'),
    authority: { hubSecret: 'hub-secret-for-the-test', verifyDevice: storeDown, joinTokenKnown: storeDown },
  });
  t.teardown(() => broker.close());
  broker.admitDevices();
  t.is(await connackCode(broker.url, { clientId: 'board-1', username: 'board-1', password: 'pw' }), 3, 'a device is told to come back');
  t.is(await connackCode(broker.url, { clientId: 'join-0123456789abcdef0123456789abcdef', username: 'join', password: 'ep_abc123_secretsecretsecret' }), 3, 'a joining agent is told to come back');
});

test('credentials the store answers for are still refused as such', async (t) => {
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    log: createLogger('test', 'error'),
    authority: { hubSecret: 'hub-secret-for-the-test', verifyDevice: async () => false, joinTokenKnown: async () => false },
  });
  t.teardown(() => broker.close());
  broker.admitDevices();
  t.is(await connackCode(broker.url, { clientId: 'board-1', username: 'board-1', password: 'pw' }), 4);
  t.is(await connackCode(broker.url, { clientId: 'join-0123456789abcdef0123456789abcdef', username: 'join', password: 'ep_abc123_secretsecretsecret' }), 5);
});
