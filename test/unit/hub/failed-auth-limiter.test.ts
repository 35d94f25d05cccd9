import test from 'ava';
import { ManualClock } from '../../../src/firmware/index.js';
import { FailedAuthLimiter } from '../../../src/hub/limits/failed-auth-limiter.js';
import { LimitFlagError, parseFailedAuthRate } from '../../../src/hub/limits/hub-limits.js';

const rate = { perSecond: 0.5, capacity: 3 };

test('an address that failed its burst is refused, with the time until its next try; others are not', (t) => {
  const clock = new ManualClock(1_000_000);
  const limiter = new FailedAuthLimiter(rate, clock);
  for (let i = 0; i < 3; i++) {
    t.true(limiter.check('10.0.0.9').ok, `failure ${i + 1} of the burst may still try`);
    limiter.failed('10.0.0.9');
  }
  const refused = limiter.check('10.0.0.9');
  t.deepEqual(refused, { ok: false, retryAfterMs: 2000 });
  t.true(limiter.check('10.0.0.1').ok, 'the admin on another address is not locked out');
  t.true(limiter.check('10.0.0.9').ok === false, 'checking spends nothing and lifts nothing');
  clock.advance(1999);
  t.false(limiter.check('10.0.0.9').ok);
  clock.advance(1);
  t.true(limiter.check('10.0.0.9').ok, 'one more try once the bucket refilled a token');
  limiter.failed('10.0.0.9');
  t.deepEqual(limiter.check('10.0.0.9'), { ok: false, retryAfterMs: 2000 }, 'and a failure spends it again');
});

test('successes spend nothing: a busy address that logs in correctly is never slowed', (t) => {
  const limiter = new FailedAuthLimiter(rate, new ManualClock(0));
  for (let i = 0; i < 10_000; i++) t.true(limiter.check('10.0.0.2').ok);
  t.is(limiter.size, 0, 'nothing is tracked for addresses that never failed');
});

test('memory is bounded: past the cap, the address that failed least recently is forgotten; full buckets are swept', (t) => {
  const clock = new ManualClock(0);
  const limiter = new FailedAuthLimiter(rate, clock, 100);
  for (let i = 0; i < 3; i++) limiter.failed('keep-me');
  for (let i = 0; i < 1000; i++) {
    limiter.failed(`10.1.${Math.floor(i / 256)}.${i % 256}`);
    if (i % 50 === 0) for (let j = 0; j < 3; j++) limiter.failed('keep-me');
  }
  t.is(limiter.size, 100);
  t.false(limiter.check('keep-me').ok, 'the address still failing is the last to be forgotten');
  clock.advance(60_000);
  limiter.failed('one-more');
  t.is(limiter.size, 1, 'buckets that refilled are dropped at the next sweep');
});

test('--auth-failure-rate reads <per-second>,<burst> or off, and names the flag otherwise', (t) => {
  t.deepEqual(parseFailedAuthRate('0.5,30'), { perSecond: 0.5, capacity: 30 });
  t.is(parseFailedAuthRate('off'), undefined);
  for (const bad of ['', '1', '0,5', '1,0', '1,2.5', 'a,b', '1,2,3']) {
    const err = t.throws(() => parseFailedAuthRate(bad), { instanceOf: LimitFlagError });
    t.regex(err?.message ?? '', /--auth-failure-rate/);
  }
});
