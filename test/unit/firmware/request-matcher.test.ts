import test from 'ava';
import { ManualClock } from '../../../src/firmware/clock.js';
import type { Frame } from '../../../src/firmware/mculink/frame-codec.js';
import { McuRequestError, RequestMatcher, RequestsClosedError, RequestTimeoutError } from '../../../src/firmware/mculink/request-matcher.js';
import { bytes } from './helpers/auto-clock.js';

function setup(): { clock: ManualClock; matcher: RequestMatcher; sent: Frame[] } {
  const clock = new ManualClock();
  const sent: Frame[] = [];
  const matcher = new RequestMatcher({
    clock,
    send: (f) => {
      sent.push(f);
      return Promise.resolve();
    },
  });
  return { clock, matcher, sent };
}

test('a response with the echoed SEQ and TYPE|0x80 resolves the request', async (t) => {
  const { matcher, sent } = setup();
  const reply = matcher.request(0x02, new Uint8Array(0), 100);
  t.deepEqual(sent, [{ type: 0x02, seq: 1, payload: new Uint8Array(0) }]);
  t.true(matcher.handleFrame({ type: 0x82, seq: 1, payload: bytes(7) }));
  t.deepEqual(await reply, { type: 0x82, seq: 1, payload: bytes(7) });
  t.is(matcher.pending, 0);
});

test('out-of-order responses reach the right requests', async (t) => {
  const { matcher } = setup();
  const a = matcher.request(0x01, bytes(1), 100);
  const b = matcher.request(0x01, bytes(2), 100);
  const c = matcher.request(0x03, bytes(3, 0), 100);
  matcher.handleFrame({ type: 0x83, seq: 3, payload: bytes(0x33) });
  matcher.handleFrame({ type: 0x81, seq: 2, payload: bytes(0x22) });
  matcher.handleFrame({ type: 0x81, seq: 1, payload: bytes(0x11) });
  t.deepEqual((await a).payload, bytes(0x11));
  t.deepEqual((await b).payload, bytes(0x22));
  t.deepEqual((await c).payload, bytes(0x33));
});

test('timeout rejects; a late response is ignored and counted', async (t) => {
  const { clock, matcher } = setup();
  const reply = matcher.request(0x02, new Uint8Array(0), 250);
  clock.advance(249);
  t.is(matcher.pending, 1);
  clock.advance(1);
  const err = await t.throwsAsync(reply, { instanceOf: RequestTimeoutError });
  t.is(err?.message, 'no response to request 0x02 (seq 1) within 250 ms');
  t.true(matcher.handleFrame({ type: 0x82, seq: 1, payload: new Uint8Array(0) }));
  t.like(matcher.stats, { sent: 1, answered: 0, timeouts: 1, unmatched: 1 });
});

test('responses nobody waits for, and of the wrong type, are ignored', async (t) => {
  const { matcher } = setup();
  const reply = matcher.request(0x02, new Uint8Array(0), 100);
  t.true(matcher.handleFrame({ type: 0x82, seq: 99, payload: new Uint8Array(0) }));
  t.true(matcher.handleFrame({ type: 0x81, seq: 1, payload: new Uint8Array(0) }));
  t.is(matcher.pending, 1);
  matcher.handleFrame({ type: 0x82, seq: 1, payload: bytes(5) });
  t.deepEqual((await reply).payload, bytes(5));
  t.is(matcher.stats.unmatched, 2);
});

test('unsolicited frames are not consumed', (t) => {
  const { matcher } = setup();
  t.false(matcher.handleFrame({ type: 0x10, seq: 1, payload: new Uint8Array(5) }));
});

test('ERROR rejects with the MCU error code', async (t) => {
  const { matcher } = setup();
  const reply = matcher.request(0x03, bytes(10, 0), 100);
  matcher.handleFrame({ type: 0x7f, seq: 1, payload: bytes(0x03, 3) });
  const err = await t.throwsAsync(reply, { instanceOf: McuRequestError });
  t.like(err, { requestType: 3, code: 3, codeName: 'bad-argument' });
});

test('close rejects pending and later requests', async (t) => {
  const { clock, matcher } = setup();
  const a = matcher.request(0x01, new Uint8Array(0), 100);
  const b = matcher.request(0x02, new Uint8Array(0), 100);
  matcher.close(new RequestsClosedError('gone'));
  await t.throwsAsync(a, { message: 'gone' });
  await t.throwsAsync(b, { message: 'gone' });
  await t.throwsAsync(matcher.request(0x01, new Uint8Array(0), 100), { instanceOf: RequestsClosedError });
  t.is(clock.pendingTimers, 0);
});

test('SEQ runs 1..255, wraps, and skips values still in flight', async (t) => {
  const { matcher, sent } = setup();
  const held = matcher.request(0x01, new Uint8Array(0), 1e9); // seq 1 stays pending
  for (let i = 2; i <= 255; i++) {
    const r = matcher.request(0x01, new Uint8Array(0), 1e9);
    matcher.handleFrame({ type: 0x81, seq: i, payload: new Uint8Array(0) });
    await r;
  }
  const next = matcher.request(0x01, new Uint8Array(0), 1e9);
  t.is(sent.at(-1)?.seq, 2, 'wrapped past 255 and skipped 1');
  matcher.handleFrame({ type: 0x81, seq: 2, payload: new Uint8Array(0) });
  matcher.handleFrame({ type: 0x81, seq: 1, payload: new Uint8Array(0) });
  await next;
  await held;
  t.true(sent.every((f) => f.seq >= 1 && f.seq <= 255));
});

test('a failed write rejects the request', async (t) => {
  const matcher = new RequestMatcher({ clock: new ManualClock(), send: () => Promise.reject(new Error('EIO')) });
  await t.throwsAsync(matcher.request(0x01, new Uint8Array(0), 100), { message: 'EIO' });
  t.is(matcher.pending, 0);
});
