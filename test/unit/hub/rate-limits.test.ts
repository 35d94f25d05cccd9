import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../../src/firmware/index.js';
import { fullBucket, take, type Bucket, type BucketRate } from '../../../src/hub/limits/token-bucket.js';
import { ConnectionRateLimiter, KeyedLimiter } from '../../../src/hub/limits/keyed-limiter.js';
import { DeviceMessageThrottle } from '../../../src/hub/limits/device-message-throttle.js';
import { LimitFlagError, parseDeviceMessageRate, parseJoinRate } from '../../../src/hub/limits/hub-limits.js';

const rate: BucketRate = { perSecond: 2, capacity: 5 };

test('a full bucket gives its burst at once, then refuses with the time until the next token', (t) => {
  let bucket: Bucket = fullBucket(rate, 0);
  for (let i = 0; i < 5; i++) {
    const r = take(bucket, rate, 0);
    t.true(r.ok);
    bucket = r.bucket;
  }
  const refused = take(bucket, rate, 0);
  t.false(refused.ok);
  t.is(refused.ok ? undefined : refused.retryAfterMs, 500);
  t.true(take(refused.bucket, rate, 499).ok === false);
  t.true(take(refused.bucket, rate, 500).ok);
});

test('refills at the rate, never above the capacity, and a clock stepped back refills nothing', (t) => {
  const empty: Bucket = { tokens: 0, at: 10_000 };
  t.is(take(empty, rate, 5_000).ok, false);
  const later = take(empty, rate, 10_000 + 3_600_000);
  t.true(later.ok);
  t.is(later.bucket.tokens, rate.capacity - 1);
});

test('over any span, admissions never exceed capacity + rate × span', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 }), (gaps) => {
      let now = 0;
      let bucket = fullBucket(rate, now);
      let admitted = 0;
      for (const gap of gaps) {
        now += gap;
        const r = take(bucket, rate, now);
        bucket = r.bucket;
        if (r.ok) admitted += 1;
      }
      return admitted <= rate.capacity + Math.floor((now * rate.perSecond) / 1000);
    }),
  );
  t.pass();
});

test('keyed limiter: one busy key does not spend another key\'s tokens, and full buckets are forgotten', (t) => {
  const clock = new ManualClock(0);
  const limiter = new KeyedLimiter({ perSecond: 1, capacity: 2 }, clock, 1_000);
  t.true(limiter.admit('a').ok);
  t.true(limiter.admit('a').ok);
  t.false(limiter.admit('a').ok);
  t.true(limiter.admit('b').ok);
  t.is(limiter.size, 2);
  clock.advance(10_000);
  t.true(limiter.admit('c').ok);
  t.is(limiter.size, 1, 'a and b were full again and swept');
});

test('connection limiter: refused per source without spending the global budget; the global one binds all sources', (t) => {
  const clock = new ManualClock(0);
  const limiter = new ConnectionRateLimiter({ perSource: { perSecond: 1, capacity: 2 }, global: { perSecond: 1, capacity: 3 } }, clock);
  t.true(limiter.admit('10.0.0.1').ok);
  t.true(limiter.admit('10.0.0.1').ok);
  for (let i = 0; i < 10; i++) t.false(limiter.admit('10.0.0.1').ok);
  t.true(limiter.admit('10.0.0.2').ok, 'the flood from .1 did not use up the global budget');
  const refused = limiter.admit('10.0.0.3');
  t.false(refused.ok, 'the global budget of 3 is spent');
  t.is(refused.ok ? 0 : refused.retryAfterMs, 1000);
  clock.advance(1000);
  t.true(limiter.admit('10.0.0.3').ok);
});

test('device throttle: a flooding device is cut with one notice per interval; a quiet one is untouched', (t) => {
  const clock = new ManualClock(0);
  const throttle = new DeviceMessageThrottle({ events: { perSecond: 1, capacity: 3 }, reported: { perSecond: 1, capacity: 2 }, noticeEveryMs: 60_000 }, clock);
  const verdicts = Array.from({ length: 100 }, () => throttle.check('flood', 'events'));
  t.is(verdicts.filter((v) => v.admit).length, 3);
  const notices = verdicts.flatMap((v) => (!v.admit && v.notice ? [v.notice] : []));
  t.is(notices.length, 1);
  t.is(notices[0]?.dropped, 1);
  t.is(notices[0]?.channel, 'events');
  t.true(throttle.check('quiet', 'events').admit);
  t.true(throttle.check('quiet', 'reported').admit);
  t.true(throttle.check('flood', 'reported').admit, 'channels have their own buckets');
  t.true(throttle.check('flood', 'status').admit, 'other channels are not throttled');
  clock.advance(60_000);
  for (let i = 0; i < 60; i++) throttle.check('flood', 'events');
  const next = Array.from({ length: 5 }, () => throttle.check('flood', 'events')).find((v) => !v.admit && v.notice);
  t.true(next === undefined, 'the notice of this interval was already given');
  clock.advance(60_000);
  const third = Array.from({ length: 200 }, () => throttle.check('flood', 'events')).find((v) => !v.admit && v.notice);
  t.truthy(third);
  t.true(third && !third.admit && third.notice ? third.notice.dropped > 1 : false, 'the next notice counts the drops since the last one');
});

test('limit flags: rates per second, off, and errors naming the flag', (t) => {
  t.deepEqual(parseJoinRate('5,50'), { perSource: { perSecond: 5, capacity: 50 }, global: { perSecond: 50, capacity: 500 } });
  t.is(parseJoinRate('off'), undefined);
  t.throws(() => parseJoinRate('5'), { instanceOf: LimitFlagError, message: /--join-rate/ });
  t.throws(() => parseJoinRate('0,5'), { instanceOf: LimitFlagError });
  t.is(parseDeviceMessageRate('4,2').reported.perSecond, 2);
  t.throws(() => parseDeviceMessageRate('x,2'), { instanceOf: LimitFlagError, message: /--device-message-rate/ });
});
