// joinFleet over an in-memory MQTT client: a connection that drops after CONNACK, with the join
// request's QoS 1 PUBLISH never acknowledged, must end the attempt (so enrollment retries) instead
// of hanging — mqtt.js with reconnectPeriod 0 never settles such a publish, and a graceful end
// would wait for it forever. Seen as a stalled 10,000-device registration storm.
import test from 'ava';
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { createLogger } from '../../../src/common/log.js';
import { generateDeviceKey } from '../../../src/device-agent/identity/device-key.js';
import { joinFleet, type JoinParams } from '../../../src/device-agent/identity/join.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

interface FakeJoinClient {
  client: MqttClient;
  published: string[];
  ended: boolean[];
}

/** A client that connects, grants the subscription, and then does what `publish` says; anything else throws. */
function fakeClient(publish: (fake: EventEmitter & { outgoing: Record<number, unknown> }) => Promise<void>): FakeJoinClient {
  const published: string[] = [];
  const ended: boolean[] = [];
  const emitter = Object.assign(new EventEmitter(), { outgoing: {} as Record<number, unknown> });
  const methods: Record<string, unknown> = {
    subscribeAsync: async () => [{ topic: 'x', qos: 1 }],
    publishAsync: async (topic: string) => {
      published.push(topic);
      emitter.outgoing[1] = { topic };
      await publish(emitter);
    },
    endAsync: async (force?: boolean) => {
      ended.push(force === true);
    },
    outgoing: emitter.outgoing,
  };
  const client = new Proxy(emitter, {
    get(target, key) {
      if (typeof key === 'string' && key in methods) return methods[key];
      if (typeof key === 'symbol' || key in target) return Reflect.get(target, key) as unknown;
      throw new Error(`fake MQTT client: ${String(key)} is not set up`);
    },
  }) as unknown as MqttClient;
  setImmediate(() => emitter.emit('connect'));
  return { client, published, ended };
}

function params(fake: FakeJoinClient, timeoutMs = 60_000): JoinParams {
  return {
    brokerUrl: 'mqtt://hub.test:1883',
    token: 'abc123.0123456789abcdef',
    hardwareId: 'hw-1',
    hostname: 'gw-1',
    agentVersion: 'test',
    facts: gatewayFacts(),
    key: generateDeviceKey().key,
    connect: () => fake.client,
    log: createLogger('test', 'error'),
    timeoutMs,
  };
}

test('a connection that drops before the join request is acknowledged ends the attempt, forcing the client closed', async (t) => {
  const fake = fakeClient(async (emitter) => {
    setImmediate(() => emitter.emit('close'));
    await new Promise<never>(() => undefined); // mqtt.js never settles it after the drop
  });
  const error = await t.throwsAsync(joinFleet(params(fake)));
  t.regex(error?.message ?? '', /closed before the hub answered the join request/);
  t.is(fake.published.length, 1);
  t.deepEqual(fake.ended, [true], 'forced: a graceful end would wait for the PUBACK forever');
});

test('a request acknowledged but never answered ends at the deadline', async (t) => {
  const fake = fakeClient(async (emitter) => {
    delete emitter.outgoing[1];
  });
  const error = await t.throwsAsync(joinFleet(params(fake, 50)));
  t.regex(error?.message ?? '', /no answer from the hub to the join request/);
  t.deepEqual(fake.ended, [false], 'nothing outstanding: a graceful end');
});
