import test from 'ava';
import { ManualClock } from '../../../src/firmware/clock.js';
import { LinkClosedError } from '../../../src/firmware/link/byte-link.js';
import { createMemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import { McuSession } from '../../../src/firmware/mculink/mcu-session.js';
import { McuRequestError, RequestTimeoutError } from '../../../src/firmware/mculink/request-matcher.js';
import type { Telemetry } from '../../../src/firmware/mculink/telemetry.js';
import { autoClock, bytes, settle } from './helpers/auto-clock.js';
import { FakeMcu, IDENTITY } from './helpers/fake-mcu.js';

function setup(clock = new ManualClock(), maxChunk?: number) {
  const pair = createMemoryLinkPair(maxChunk === undefined ? {} : { maxChunk });
  const mcu = new FakeMcu(pair.b);
  const session = new McuSession({ link: pair.a, clock, requestTimeoutMs: 200 });
  return { pair, mcu, session, clock };
}

test('identify returns the decoded identity (delivered byte by byte)', async (t) => {
  const { session, mcu } = setup(new ManualClock(), 1);
  t.deepEqual(await session.identify(), IDENTITY);
  t.is(mcu.received.length, 1);
});

test('ping echoes its payload and measures the round trip on the injected clock', async (t) => {
  const { session } = setup();
  t.deepEqual(await session.ping(bytes(1, 2, 3)), { rttMs: 0 });
});

test('setTelemetryInterval returns the interval in effect and validates the argument', async (t) => {
  const { session, mcu } = setup();
  t.is(await session.setTelemetryInterval(250), 250);
  t.is(await session.setTelemetryInterval(0), 0);
  await t.throwsAsync(session.setTelemetryInterval(20), { instanceOf: RangeError });
  t.deepEqual(mcu.received[0]?.payload, bytes(0xfa, 0x00));
});

test('a request that times out is retried once with a fresh SEQ', async (t) => {
  const auto = autoClock();
  try {
    const { session, mcu } = setup(auto.clock);
    mcu.drop.set(0x02, 1);
    t.deepEqual(await session.identify(), IDENTITY);
    t.deepEqual(mcu.received.map((f) => f.seq), [1, 2]);
    t.like(session.stats.requests, { timeouts: 1, answered: 1 });
  } finally {
    auto.stop();
  }
});

test('two timeouts in a row reject', async (t) => {
  const auto = autoClock();
  try {
    const { session, mcu } = setup(auto.clock);
    mcu.drop.set(0x01, 2);
    await t.throwsAsync(session.ping(), { instanceOf: RequestTimeoutError });
    t.is(mcu.received.length, 2);
  } finally {
    auto.stop();
  }
});

test('an MCU ERROR is not retried', async (t) => {
  const { session, mcu } = setup();
  mcu.errors.set(0x03, 3);
  await t.throwsAsync(session.setTelemetryInterval(100), { instanceOf: McuRequestError, message: /error 3 \(bad-argument\)/ });
  t.is(mcu.received.length, 1);
});

test('telemetry reaches listeners and async iterators, decoded', async (t) => {
  const { session, mcu, clock } = setup();
  const heard: Telemetry[] = [];
  session.onTelemetry((tel) => heard.push(tel));
  const it = session.telemetry();
  clock.advance(40);
  await mcu.sendTelemetry(1000, [{ id: 1, raw: -3000 }, { id: 8, raw: 1 }]);
  await mcu.sendTelemetry(1100, [{ id: 2, raw: 4500 }]);
  const first = await it.next();
  const second = await it.next();
  t.deepEqual(first.value?.values, { pitch: -30, sample_index: 1 });
  t.deepEqual(second.value?.values, { roll: 45 });
  t.is(heard.length, 2);
  t.is(session.lastHeardAt, 40);
  await it.return?.();
  t.is(session.stats.telemetry, 2);
});

test('silentFor measures time since the MCU was last heard', async (t) => {
  const { session, mcu, clock } = setup(new ManualClock(1000));
  clock.advance(300);
  t.is(session.silentFor(), 300);
  await mcu.sendTelemetry(5, []);
  await settle();
  clock.advance(120);
  t.is(session.silentFor(), 120);
  t.is(session.lastHeardAt, 1300);
});

test('closing the link rejects pending requests and ends telemetry iterators', async (t) => {
  const { session, mcu, pair } = setup();
  mcu.drop.set(0x02, 5);
  const pending = session.identify();
  const it = session.telemetry();
  const next = it.next();
  await settle();
  pair.disconnect(new Error('USB unplugged'));
  await t.throwsAsync(pending, { instanceOf: LinkClosedError });
  t.deepEqual(await next, { done: true, value: undefined });
  t.true(session.isClosed);
  await t.throwsAsync(session.ping(), { instanceOf: LinkClosedError });
});

test('an aborted signal ends the telemetry iterator', async (t) => {
  const { session } = setup();
  const ac = new AbortController();
  const it = session.telemetry(ac.signal);
  const next = it.next();
  ac.abort();
  t.deepEqual(await next, { done: true, value: undefined });
});

test('enterBootloader detaches the session after the ACK and is not retried', async (t) => {
  const { session, mcu, pair } = setup();
  await session.enterBootloader();
  t.true(session.isClosed);
  t.true(mcu.inBootloader);
  // Bootloader bytes on the link no longer reach the session.
  await pair.b.write(bytes(0x79, 0xa5, 0x00));
  await settle();
  t.is(session.stats.decoder.droppedBytes, 0);

  const auto = autoClock();
  try {
    const second = setup(auto.clock);
    second.mcu.drop.set(0x04, 1);
    await t.throwsAsync(second.session.enterBootloader(), { instanceOf: RequestTimeoutError });
    t.is(second.mcu.received.length, 1);
  } finally {
    auto.stop();
  }
});

test('a false SOF before a response is given up after 100 ms and the response still arrives', async (t) => {
  const auto = autoClock();
  try {
    const { session, pair } = setup(auto.clock);
    // A5 40 announces a 64-byte frame that swallows the IDENTITY response until
    // the partial-frame timeout (100 ms) drops it; the request timeout is 200 ms.
    await pair.b.write(bytes(0xa5, 0x40, 0x00, 0x12));
    t.deepEqual(await session.identify(), IDENTITY);
    t.like(session.stats.decoder, { timeouts: 1, frames: 1 });
    t.is(session.stats.requests.timeouts, 0);
  } finally {
    auto.stop();
  }
});
