// UTC's wall clock by arithmetic (issue 11, a lean agent): a device whose schedules are all in UTC,
// the default, never builds an Intl.DateTimeFormat (~8 MB of ICU data for the life of the process),
// and gets exactly the answers the Intl path gives.
import test from 'ava';
import fc from 'fast-check';
import { canonicalTimeZone, localDayOf, offsetAt, resolveWallClock, timeZoneSchema, wallClockAt } from '../../../../src/protocol/schedule/zoned-time.js';

test.serial('UTC schedules build no Intl.DateTimeFormat: zone check, wall clock, offsets, day profiles', (t) => {
  const realDateTimeFormat = Intl.DateTimeFormat;
  let built = 0;
  Intl.DateTimeFormat = function (...args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
    built += 1;
    return new realDateTimeFormat(...args);
  } as unknown as typeof Intl.DateTimeFormat;
  try {
    t.is(timeZoneSchema.parse('UTC'), 'UTC');
    t.is(canonicalTimeZone('UTC'), 'UTC');
    t.deepEqual(wallClockAt('UTC', Date.UTC(2026, 10, 30, 23, 59, 59, 999)), { year: 2026, month: 11, day: 30, hour: 23, minute: 59, second: 59 });
    t.is(offsetAt('UTC', Date.UTC(2026, 2, 29, 1)), 0);
    t.is(localDayOf('UTC', Date.UTC(1970, 0, 2, 0, 0, 0)), 1);
    t.deepEqual(resolveWallClock('UTC', { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }), { instant: Date.UTC(2026, 2, 29, 2, 30), resolution: 'exact' });
  } finally {
    Intl.DateTimeFormat = realDateTimeFormat;
  }
  t.is(built, 0);
});

test('the UTC wall clock equals Intl at every instant, before 1583 and after 9999 included (Intl answers those)', (t) => {
  const intl = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short' });
  const viaIntl = (ms: number): Record<string, number> => {
    const parts = intl.formatToParts(ms);
    const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
    const year = parts.find((p) => p.type === 'era')?.value === 'BC' ? 1 - get('year') : get('year');
    return { year, month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
  };
  fc.assert(
    fc.property(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(12000, 0, 1) }), (ms) => {
      t.deepEqual({ ...wallClockAt('UTC', ms) }, viaIntl(ms), new Date(ms).toISOString());
    }),
    { numRuns: 3000, seed: 5 },
  );
  for (const ms of [Date.UTC(1583, 0, 1) - 1, Date.UTC(1583, 0, 1), Date.UTC(1500, 5, 1), -1, 0, 999, Date.UTC(10000, 0, 1) - 1, Date.UTC(10000, 0, 1)]) {
    t.deepEqual({ ...wallClockAt('UTC', ms) }, viaIntl(ms), String(ms));
  }
});

test('other spellings of UTC still go through Intl and keep their answers', (t) => {
  t.is(canonicalTimeZone('Etc/UTC'), new Intl.DateTimeFormat('en-US', { timeZone: 'Etc/UTC' }).resolvedOptions().timeZone);
  t.is(timeZoneSchema.safeParse('utc').success, false, 'spelled "UTC"');
  t.is(offsetAt('Etc/UTC', Date.UTC(2026, 5, 1)), 0);
});
