import test from 'ava';
import fc from 'fast-check';
import cron from 'node-cron';
import type { CronExpressionError } from '../../../../src/protocol/index.js';
import { cronScheduleSchema, parseCron, tryParseCron, timeZoneSchema, cronMatchesDate } from '../../../../src/protocol/index.js';
import { cronExpression as expression, validCronExpression } from './arbitraries.js';

function errorOf(expression: string): CronExpressionError {
  const result = tryParseCron(expression);
  if (result.ok) throw new Error(`"${expression}" parsed`);
  return result.error;
}

test('five fields mean second 0; six put seconds first', (t) => {
  const five = parseCron('30 2 * * *');
  t.false(five.hasSeconds);
  t.deepEqual([five.seconds, five.minutes, five.hours], [[0], [30], [2]]);
  const six = parseCron('*/15 30 2 * * *');
  t.true(six.hasSeconds);
  t.deepEqual(six.seconds, [0, 15, 30, 45]);
});

test('ranges, steps, lists, wrap-around and names', (t) => {
  t.deepEqual(parseCron('0 22-2 * * *').hours, [0, 1, 2, 22, 23]);
  t.deepEqual(parseCron('10-30/10,45 * * * *').minutes, [10, 20, 30, 45]);
  const named = parseCron('0 0 * JAN-mar,December mon-fri');
  t.deepEqual([1, 2, 3, 4, 12].map((m) => named.months[m]), [true, true, true, false, true]);
  t.deepEqual(named.daysOfWeek.weekdays, [false, true, true, true, true, true, false]);
  t.deepEqual(parseCron('0 0 * * 7').daysOfWeek.weekdays, [true, false, false, false, false, false, false]);
  t.deepEqual(parseCron('@hourly').minutes, [0]);
  t.true(parseCron('0 0 ? * *').daysOfMonth.days[31]);
});

test('day-of-month and day-of-week must both match (node-cron), Friday the 13th', (t) => {
  const s = parseCron('0 0 13 * 5');
  t.true(cronMatchesDate(s, 2026, 2, 13)); // a Friday
  t.false(cronMatchesDate(s, 2026, 4, 13)); // the 13th, a Monday
  t.false(cronMatchesDate(s, 2026, 2, 20)); // a Friday, not the 13th
  t.false(cronMatchesDate(s, 2026, 1, 13)); // the 13th, a Tuesday
});

test('L, L-n, nW, LW, nL and n#k', (t) => {
  t.true(cronMatchesDate(parseCron('0 0 L * *'), 2028, 2, 29));
  t.true(cronMatchesDate(parseCron('0 0 L-2 * *'), 2026, 4, 28));
  t.true(cronMatchesDate(parseCron('0 0 15W * *'), 2026, 8, 14)); // 15 Aug 2026 is a Saturday
  t.true(cronMatchesDate(parseCron('0 0 1W * *'), 2026, 8, 3)); // 1 Aug is a Saturday: Monday 3rd
  t.true(cronMatchesDate(parseCron('0 0 LW * *'), 2026, 5, 29)); // 31 May 2026 is a Sunday
  t.true(cronMatchesDate(parseCron('0 0 * * 5L'), 2026, 7, 31));
  t.false(cronMatchesDate(parseCron('0 0 * * 5L'), 2026, 7, 24));
  t.true(cronMatchesDate(parseCron('0 0 * * mon#2'), 2026, 3, 9));
});

test('errors carry a code and name the field', (t) => {
  const e = errorOf('61 * * * *');
  t.is(e.code, 'out-of-range');
  t.is(e.field, 'minute');
  t.is(e.message, 'schedule: minute field "61" is out of range 0–59');
  t.is(errorOf('* * * *').code, 'field-count');
  t.is(errorOf('0 0 30 2 *').code, 'impossible-date');
  t.is(errorOf('*/0 * * * *').code, 'invalid-step');
  t.is(errorOf('5/2 * * * *').code, 'invalid-token');
  t.is(errorOf('0 0 * * 5#6').code, 'out-of-range');
  t.is(errorOf('0 25 * * *').field, 'hour');
  t.is(errorOf('0 0 * foo *').field, 'month');
  t.is(errorOf('0 0 * * * * *').code, 'field-count');
  t.is(errorOf('0 0 * * $').code, 'illegal-characters');
  t.is(errorOf('   ').code, 'empty');
  t.is(tryParseCron(42).ok, false);
  t.is(errorOf('5* * * * *').code, 'invalid-token', 'node-cron reads 5* as 50-59 by accident; we refuse');
});

test('zod schemas for manifests', (t) => {
  t.true(cronScheduleSchema.safeParse('0 3 * * sun').success);
  const bad = cronScheduleSchema.safeParse('0 24 * * *');
  t.false(bad.success);
  t.regex(bad.error?.issues[0]?.message ?? '', /hour field "24"/);
  t.true(timeZoneSchema.safeParse('Europe/Berlin').success);
  t.true(timeZoneSchema.safeParse('UTC').success);
  const unknown = timeZoneSchema.safeParse('Mars/Olympus_Mons');
  t.false(unknown.success);
  t.regex(unknown.error?.issues[0]?.message ?? '', /not an IANA time zone/);
  t.regex(timeZoneSchema.safeParse('europe/berlin').error?.issues[0]?.message ?? '', /spelled "Europe\/Berlin"/);
  t.false(timeZoneSchema.safeParse('+01:00').success);
  const never = cronScheduleSchema.safeParse('0 0 31 * 1#1');
  t.true(cron.validate('0 0 31 * 1#1'), 'node-cron accepts it');
  t.regex(never.error?.issues[0]?.message ?? '', /never fires/);
  t.true(cronScheduleSchema.safeParse('0 0 29 2 1').success, 'a Monday 29 February does happen (2044)');
});

// ---- agreement with node-cron's own validator ----

test('accepts exactly what node-cron accepts, for expressions in the documented grammar', (t) => {
  let valid = 0;
  fc.assert(
    fc.property(expression, (expr) => {
      const ours = tryParseCron(expr).ok;
      if (ours) valid += 1;
      return ours === cron.validate(expr);
    }),
    { numRuns: 3000, seed: 42 },
  );
  t.true(valid > 100, `the generator must produce valid expressions too (got ${valid})`);
});

test('agrees with node-cron on expressions built only from valid tokens (the impossible dates included)', (t) => {
  fc.assert(
    fc.property(validCronExpression, (expr) => tryParseCron(expr).ok === cron.validate(expr)),
    { numRuns: 2000, seed: 5 },
  );
  t.pass();
});

test('nicknames and spacing agree with node-cron', (t) => {
  for (const expr of ['@daily', ' @YEARLY ', '@weekly', '@every', '0  0   * * *', ' 0 0 * * * ', '0\t0 * * *', '@reboot']) {
    t.is(tryParseCron(expr).ok, cron.validate(expr), expr);
  }
});
