import test from 'ava';
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';
import { createLogger } from '../../../src/common/log.js';
import { DeviceSession } from '../../../src/device-agent/session/device-session.js';
import { MAX_NOT_BEFORE_MS, parseRetryAfterMs, reconnectDelayMs, retryDelayMs } from '../../../src/device-agent/session/reconnect-backoff.js';

const backoff = { baseMs: 1000, capMs: 10_000 };

test('full jitter: the delay is random times min(cap, base·2^attempt), so the ceiling doubles until the cap', (t) => {
  const top = () => 0.999999;
  t.deepEqual(
    [0, 1, 2, 3, 4, 5, 20].map((a) => reconnectDelayMs(a, backoff, top)),
    [999, 1999, 3999, 7999, 9999, 9999, 9999],
  );
  t.is(reconnectDelayMs(3, backoff, () => 0.5), 4000);
  t.is(reconnectDelayMs(3, backoff, () => 0), 0, 'a device may knock again at once');
  t.is(reconnectDelayMs(1e9, backoff, () => 0.5), 5000, 'a huge attempt count does not overflow');
  t.is(reconnectDelayMs(-1, backoff, () => 0.5), 500);
});

test('full jitter spreads a fleet evenly over the whole interval instead of one instant', (t) => {
  // A deterministic "random" sequence: 1,000 devices on their 4th attempt (ceiling 8 s).
  let seed = 42;
  const lcg = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const delays = Array.from({ length: 1000 }, () => reconnectDelayMs(3, backoff, lcg));
  const buckets = new Array<number>(8).fill(0);
  for (const d of delays) buckets[Math.floor(d / 1000)] = (buckets[Math.floor(d / 1000)] ?? 0) + 1;
  t.true(Math.max(...delays) < 8000);
  // Every second of the interval gets its share (125 expected), none gets a crowd.
  for (const count of buckets) t.true(count > 80 && count < 170, `bucket of ${count}`);
});

/** Enough of an MqttClient for the session: connect/close/error events and reconnect(). */
class FakeClient extends EventEmitter {
  connected = false;
  reconnects = 0;
  constructor(readonly options: IClientOptions) {
    super();
  }
  reconnect(): this {
    this.reconnects += 1;
    this.emit('reconnect');
    return this;
  }
  async publishAsync(): Promise<void> {}
  async subscribeAsync(): Promise<{ qos: number }[]> {
    return [{ qos: 1 }];
  }
  async endAsync(): Promise<void> {
    this.connected = false;
  }
}

function session(random: () => number) {
  let client: FakeClient | undefined;
  const delays: number[] = [];
  const s = new DeviceSession({
    brokerUrl: 'mqtt://127.0.0.1:1',
    deviceId: 'dev-1',
    password: 'p',
    keepaliveSeconds: 30,
    agentVersion: 'test',
    bootId: 'boot',
    connect: (_url, options) => (client = new FakeClient(options)) as unknown as MqttClient,
    log: createLogger('test', 'error'),
    reconnectBackoff: backoff,
    random,
    setTimer: (callback, ms) => {
      delays.push(ms);
      return setTimeout(callback, 0);
    },
  });
  s.start();
  if (!client) throw new Error('no client');
  return { s, client, delays };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

test('the session leaves mqtt.js no fixed retry period and reconnects itself with growing jittered delays, reset by a connection', async (t) => {
  const { s, client, delays } = session(() => 0.5);
  t.is(client.options.reconnectPeriod, 0, 'mqtt.js would retry the whole fleet at the same fixed period');
  for (let i = 0; i < 4; i++) {
    client.emit('close');
    // Each close's reconnect has happened before the next close (a fixed 5 ms was too short on a loaded CI machine).
    while (client.reconnects < i + 1) await tick();
  }
  t.deepEqual(delays, [500, 1000, 2000, 4000]);
  t.is(client.reconnects, 4);
  client.connected = true;
  client.emit('connect');
  await tick();
  client.connected = false;
  client.emit('close');
  await tick();
  t.is(delays.at(-1), 500, 'after a connection the backoff starts again');
  await s.stop();
  client.emit('close');
  await tick();
  t.is(client.reconnects, 5, 'a stopped session does not reconnect');
});

test('two closes before the timer fires schedule one reconnect; a credentials refusal takes over with its own retry', async (t) => {
  const { s, client, delays } = session(() => 0.5);
  client.emit('close');
  client.emit('close');
  await tick();
  t.is(delays.length, 1);
  t.is(client.reconnects, 1);
  const refusal = Object.assign(new Error('Connection refused: Not authorized'), { code: 5 });
  client.emit('error', refusal);
  client.emit('close');
  await tick();
  t.deepEqual(delays, [500, 2500], 'the refusal retry is full jitter below 5 s by default, and the close after it schedules nothing more');
  t.is(client.reconnects, 2, 'one reconnect for the refusal, not a second one for its close');
  await s.stop();
});

test('refusals: each CONNACK refusal doubles the ceiling of its full-jitter delay, up to the cap; a connection resets it', async (t) => {
  const { s, client, delays } = session(() => 0.999999);
  // Not "server unavailable" (3), which is retried as a lost connection (below): one that is not about load.
  const refusal = Object.assign(new Error('Connection refused: Identifier rejected'), { code: 2 });
  for (let i = 0; i < 8; i++) {
    client.emit('error', refusal);
    await tick();
  }
  t.deepEqual(delays, [4999, 9999, 19999, 39999, 79999, 159999, 299999, 299999]);
  client.connected = true;
  client.emit('connect');
  await tick();
  client.emit('error', refusal);
  await tick();
  t.is(delays.at(-1), 4999, 'after a connection the refusal backoff starts again');
  await s.stop();
});

test('Retry-After: the hub\'s wait comes first and the jitter on top, so refused devices do not return at one instant', (t) => {
  const b = { baseMs: 1000, capMs: 60_000 };
  t.is(retryDelayMs(0, b, () => 0, 3000), 3000, 'never before the hub said');
  t.is(retryDelayMs(0, b, () => 0.5, 3000), 3500);
  t.is(retryDelayMs(2, b, () => 0.5, 3000), 5000, 'the jitter interval still doubles with each attempt');
  t.is(retryDelayMs(10, b, () => 0.999999, 0), 59999, 'capped');
  t.is(retryDelayMs(0, b, () => 0, 86_400_000), MAX_NOT_BEFORE_MS, 'a hub cannot park a device for a day');
  t.is(retryDelayMs(0, b, () => 0, Number.POSITIVE_INFINITY), MAX_NOT_BEFORE_MS);
  t.is(retryDelayMs(0, b, () => 0, -5), 0);
  // A fleet refused with Retry-After: 2 arrives spread over [2 s, 3 s), not at 2 s exactly.
  let seed = 7;
  const lcg = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const arrivals = Array.from({ length: 200 }, () => retryDelayMs(0, b, lcg, 2000));
  t.true(arrivals.every((d) => d >= 2000 && d < 3000));
  t.true(new Set(arrivals.map((d) => Math.floor(d / 100))).size === 10, 'every tenth of the interval gets arrivals');
});

test('Retry-After is read as delay-seconds or an HTTP-date; anything else is ignored', (t) => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  t.is(parseRetryAfterMs('5', now), 5000);
  t.is(parseRetryAfterMs(' 0 ', now), 0);
  t.is(parseRetryAfterMs('Mon, 30 Nov 2026 12:00:07 GMT', now), 7000);
  t.is(parseRetryAfterMs('Mon, 30 Nov 2026 11:00:00 GMT', now), 0, 'a date in the past means now');
  t.is(parseRetryAfterMs(undefined, now), undefined);
  t.is(parseRetryAfterMs('soon', now), undefined);
  t.is(parseRetryAfterMs('-3', now), undefined);
});
for (const code of [3, 136, 137, 159]) {
  test(`"server unavailable/busy" (CONNACK ${code}) from a restarting hub is retried with the jittered backoff, once per refusal`, async (t) => {
    const { s, client, delays } = session(() => 0.5);
    const busy = () => Object.assign(new Error('Connection refused: Server unavailable'), { code });
    // Until the session's retry timer has fired (a loaded machine may take more than one tick).
    const settled = async (reconnects: number) => {
      for (let i = 0; i < 400 && client.reconnects < reconnects; i++) await tick();
    };
    // mqtt.js emits the refusal and the close in either order; one retry each time.
    client.emit('error', busy());
    client.emit('close');
    await settled(1);
    client.emit('close');
    client.emit('error', busy());
    await settled(2);
    client.emit('error', busy());
    client.emit('close');
    await settled(3);
    await tick();
    t.deepEqual(delays, [500, 1000, 2000], 'the fleet comes back within the 10 s cap, spread, not after 5 s doubling in step');
    t.is(client.reconnects, 3);
    await s.stop();
  });
}
