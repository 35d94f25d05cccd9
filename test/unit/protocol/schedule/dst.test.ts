// The DST policy (src/protocol/schedule/zoned-time.ts): a missing local time fires at the end of the
// gap; a repeated one fires once, at its first occurrence. Fixed instants only.
import test from 'ava';
import { countSlots, parseCron, resolveWallClock, slotsBetween, nextSlot, type Instant } from '../../../../src/protocol/index.js';

const at = (iso: string): Instant => Date.parse(iso);
const iso = (t: Instant | undefined): string => (t === undefined ? 'none' : new Date(t).toISOString().replace('.000Z', 'Z'));
function slots(expr: string, zone: string, from: string, to: string): string[] {
  return slotsBetween(parseCron(expr), zone, at(from), at(to), 1000).slots.map(iso);
}

test('Europe/Berlin spring forward 2026-03-29: daily 02:30 runs once, at 03:00 CEST (end of the gap)', (t) => {
  t.deepEqual(slots('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-30T12:00:00Z'), ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z']);
  t.deepEqual(resolveWallClock('Europe/Berlin', { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }), { instant: at('2026-03-29T01:00:00Z'), resolution: 'gap-end' });
});

test('Europe/Berlin fall back 2026-10-25: daily 02:30 runs once, at the first 02:30 (CEST)', (t) => {
  t.deepEqual(slots('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'), ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
  t.deepEqual(resolveWallClock('Europe/Berlin', { year: 2026, month: 10, day: 25, hour: 2, minute: 30, second: 0 }), { instant: at('2026-10-25T00:30:00Z'), resolution: 'repeated-first' });
  // Asked after the first 02:30 (during the repeated hour), the next run is the next day's.
  t.is(iso(nextSlot(parseCron('30 2 * * *'), 'Europe/Berlin', at('2026-10-25T01:10:00Z'))), '2026-10-26T01:30:00Z');
});

test('Europe/Berlin hourly across spring forward: 01:00, 03:00, 04:00 local, no duplicate for the missing 02:00', (t) => {
  t.deepEqual(slots('0 * * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-29T03:00:00Z'), [
    '2026-03-29T00:00:00Z', // 01:00 CET
    '2026-03-29T01:00:00Z', // 03:00 CEST: the missing 02:00 and the real 03:00 are one slot
    '2026-03-29T02:00:00Z',
    '2026-03-29T03:00:00Z',
  ]);
  t.deepEqual(slots('30 * * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-29T03:00:00Z'), [
    '2026-03-28T23:30:00Z', // 00:30 CET
    '2026-03-29T00:30:00Z', // 01:30 CET
    '2026-03-29T01:00:00Z', // 02:30 does not exist: 03:00 CEST
    '2026-03-29T01:30:00Z', // 03:30 CEST
    '2026-03-29T02:30:00Z',
  ]);
});

test('Europe/Berlin hourly across fall back: the repeated 02:00 runs once (two real hours to 03:00)', (t) => {
  t.deepEqual(slots('0 * * * *', 'Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25T03:00:00Z'), [
    '2026-10-24T23:00:00Z', // 01:00 CEST
    '2026-10-25T00:00:00Z', // 02:00 CEST (the 02:00 CET at 01:00Z is the same local time: not again)
    '2026-10-25T02:00:00Z', // 03:00 CET
    '2026-10-25T03:00:00Z',
  ]);
});

test('every minute across spring forward: the missing hour is one slot at 03:00, then every minute', (t) => {
  const list = slots('* * * * *', 'Europe/Berlin', '2026-03-29T00:58:00Z', '2026-03-29T01:02:00Z');
  t.deepEqual(list, ['2026-03-29T00:59:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:01:00Z', '2026-03-29T01:02:00Z']);
});

test('America/New_York 2026: 02:30 on 8 March at 03:00 EDT; on 1 November 01:30 once (EDT) and 02:30 once', (t) => {
  t.deepEqual(slots('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z'), ['2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z']);
  t.deepEqual(slots('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z'), ['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z']);
  t.deepEqual(slots('30 2 * * *', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z'), ['2026-11-01T07:30:00Z', '2026-11-02T07:30:00Z']);
});

test('Australia/Lord_Howe (30-minute DST): the 30-minute gap and the repeated half hour', (t) => {
  // 4 October 2026: 02:00 +10:30 becomes 02:30 +11:00; 02:15 does not exist.
  t.deepEqual(slots('15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', '2026-10-05T00:00:00Z'), ['2026-10-03T15:30:00Z', '2026-10-04T15:15:00Z']);
  // 5 April 2026: 02:00 +11:00 becomes 01:30 +10:30; 01:45 happens twice, runs at the first.
  t.deepEqual(slots('45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', '2026-04-06T00:00:00Z'), ['2026-04-04T14:45:00Z', '2026-04-05T15:15:00Z']);
  t.deepEqual(slots('*/15 1-2 * * *', 'Australia/Lord_Howe', '2026-04-04T13:59:00Z', '2026-04-04T15:50:00Z'), [
    '2026-04-04T14:00:00Z', // 01:00 +11
    '2026-04-04T14:15:00Z',
    '2026-04-04T14:30:00Z', // 01:30 +11, first occurrence
    '2026-04-04T14:45:00Z',
    // 01:30 and 01:45 at +10:30 (15:00Z, 15:15Z) are repeats: not run
    '2026-04-04T15:30:00Z', // 02:00 +10:30
    '2026-04-04T15:45:00Z',
  ]);
});

test('a zone without DST (Asia/Kolkata, +05:30) and UTC: one slot a day, fixed offset', (t) => {
  t.deepEqual(slots('30 2 * * *', 'Asia/Kolkata', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z'), ['2026-03-28T21:00:00Z', '2026-03-29T21:00:00Z', '2026-03-30T21:00:00Z']);
  t.deepEqual(slots('30 2 * * *', 'UTC', '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'), ['2026-10-25T02:30:00Z', '2026-10-26T02:30:00Z']);
});

test('yearly schedules are found without scanning: 29 February, and a combination that never happens', (t) => {
  t.is(iso(nextSlot(parseCron('0 0 29 2 *'), 'Europe/Berlin', at('2026-03-01T00:00:00Z'))), '2028-02-28T23:00:00Z');
  t.is(iso(nextSlot(parseCron('0 0 29 2 *'), 'UTC', at('2096-03-01T00:00:00Z'))), '2104-02-29T00:00:00Z');
  t.is(nextSlot(parseCron('0 0 31 * 1#1'), 'UTC', at('2026-01-01T00:00:00Z')), undefined);
});

test('counting across the DST nights: the missing hour is one slot, the repeated hour none', (t) => {
  const everyMinute = parseCron('* * * * *');
  const count = (from: string, to: string) => [countSlots(everyMinute, 'Europe/Berlin', at(from), at(to)), slots('* * * * *', 'Europe/Berlin', from, to).length];
  // 01:01–01:59 CET, 03:00 CEST (for 02:00–03:00), 03:01–04:00 CEST.
  t.deepEqual(count('2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z'), [120, 120]);
  // 02:01–02:59 CEST, then 03:00 CET: the hour of 02:00–02:59 CET is not run again.
  t.deepEqual(count('2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z'), [60, 60]);
});
