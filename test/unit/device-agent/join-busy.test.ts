import test from 'ava';
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { createLogger } from '../../../src/common/log.js';
import { generateDeviceKey } from '../../../src/device-agent/identity/device-key.js';
import { HubBusyError } from '../../../src/device-agent/identity/hub-busy.js';
import { JoinRefusedError, joinFleet } from '../../../src/device-agent/identity/join.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

/** A broker that answers the CONNECT with a refusal code. */
function refusingBroker(code: number) {
  return () => {
    const client = new EventEmitter() as EventEmitter & { end: () => void };
    client.end = () => undefined;
    setImmediate(() => client.emit('error', Object.assign(new Error(`Connection refused (${code})`), { code })));
    return client as unknown as MqttClient;
  };
}

const params = (code: number) => ({
  brokerUrl: 'mqtt://127.0.0.1:1',
  token: 'abcdef.0123456789abcdef',
  hardwareId: 'board-0001',
  hostname: 'board',
  agentVersion: 'test',
  facts: gatewayFacts({ hostname: 'board' }),
  key: generateDeviceKey().key,
  connect: refusingBroker(code),
  log: createLogger('test', 'error'),
});

test('CONNACK 3 on a join session is the hub saying "not now" (busy), not a refused token', async (t) => {
  const err = await t.throwsAsync(joinFleet(params(3)), { instanceOf: HubBusyError });
  t.is(err?.code, 'hub-busy');
  t.is(err?.retryAfterMs, undefined, "MQTT 3.1.1 carries no time: the agent's own backoff applies");
  await t.throwsAsync(joinFleet(params(5)), { instanceOf: JoinRefusedError, message: /refused the join token/ });
});
