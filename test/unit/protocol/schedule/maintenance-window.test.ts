import test from 'ava';
import { maintenanceWindowSchema, windowState, type MaintenanceWindow, type Instant } from '../../../../src/protocol/index.js';

const at = (iso: string): Instant => Date.parse(iso);
const iso = (t: Instant | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString().replace('.000Z', 'Z'));

function win(fields: Record<string, unknown>): MaintenanceWindow {
  const duration = 'duration' in fields ? {} : { durationMinutes: 60 };
  return maintenanceWindowSchema.parse({ name: 'w', ...duration, timeZone: 'Europe/Berlin', ...fields });
}
const site = { matchLabels: { site: 'plant-3' }, matchExpressions: [] };
const device = { site: 'plant-3' };
function state(windows: MaintenanceWindow[], instant: string, labels: Record<string, string> = device) {
  const s = windowState(windows, labels, at(instant));
  return { ...s, closesAt: iso(s.closesAt), nextOpen: iso(s.nextOpen) };
}

const nightly = win({ name: 'nightly', selector: site, schedule: '0 22 * * *', duration: '6h' });

test('a window crossing midnight (22:00 for 6 h, Berlin summer): open at 23:00 and 03:59, closed at 04:00', (t) => {
  t.like(state([nightly], '2026-06-10T21:00:00Z'), { open: true, reason: 'inside-allow-window', window: 'nightly', closesAt: '2026-06-11T02:00:00Z' });
  t.like(state([nightly], '2026-06-11T01:59:00Z'), { open: true, closesAt: '2026-06-11T02:00:00Z' });
  t.like(state([nightly], '2026-06-11T02:00:00Z'), { open: false, reason: 'outside-allow-windows', nextOpen: '2026-06-11T20:00:00Z' });
  t.like(state([nightly], '2026-06-10T19:59:59Z'), { open: false, nextOpen: '2026-06-10T20:00:00Z' });
  t.like(state([nightly], '2026-06-10T20:00:00Z'), { open: true }, 'open from the slot instant itself');
});

test('the duration is real elapsed time: 6 h across the DST nights end at 05:00 CEST and 03:00 CET', (t) => {
  // 28 → 29 March: opens 22:00 CET (21:00Z), six real hours later is 03:00Z = 05:00 CEST.
  t.like(state([nightly], '2026-03-29T02:30:00Z'), { open: true, closesAt: '2026-03-29T03:00:00Z' });
  t.like(state([nightly], '2026-03-29T03:00:00Z'), { open: false });
  // 24 → 25 October: opens 22:00 CEST (20:00Z), closes at 02:00Z = 03:00 CET.
  t.like(state([nightly], '2026-10-25T01:30:00Z'), { open: true, closesAt: '2026-10-25T02:00:00Z' });
  t.like(state([nightly], '2026-10-25T02:00:00Z'), { open: false });
});

test('no windows, or none whose selector matches: always open', (t) => {
  t.deepEqual(windowState([], device, at('2026-06-10T12:00:00Z')), { open: true, reason: 'no-windows' });
  t.deepEqual(windowState([nightly], { site: 'plant-4' }, at('2026-06-10T12:00:00Z')), { open: true, reason: 'no-windows' });
  t.deepEqual(windowState([nightly], {}, at('2026-06-10T12:00:00Z')), { open: true, reason: 'no-windows' });
});

test('deny beats allow, and a deny window inside the allow window closes it', (t) => {
  const freeze = win({ name: 'backup', selector: site, schedule: '0 0 * * *', durationMinutes: 60, mode: 'deny' });
  t.like(state([nightly, freeze], '2026-06-10T22:30:00Z'), { open: false, reason: 'inside-deny-window', window: 'backup', nextOpen: '2026-06-10T23:00:00Z' });
  t.like(state([nightly, freeze], '2026-06-10T21:00:00Z'), { open: true, closesAt: '2026-06-10T22:00:00Z' }, 'closes when the deny window starts');
  t.like(state([nightly, freeze], '2026-06-10T23:00:00Z'), { open: true, closesAt: '2026-06-11T02:00:00Z' });
});

test('nextOpen skips times covered by deny windows', (t) => {
  const firstHour = win({ name: 'no-first-hour', selector: site, schedule: '0 22 * * *', durationMinutes: 90, mode: 'deny' });
  t.like(state([nightly, firstHour], '2026-06-10T19:00:00Z'), { open: false, reason: 'outside-allow-windows', nextOpen: '2026-06-10T21:30:00Z' });
  // A deny window covering the whole allow window pushes the opening to a day without it.
  const weekdays = win({ name: 'weekdays', selector: site, schedule: '0 21 * * 1-5', duration: '8h', mode: 'deny' });
  t.like(state([nightly, weekdays], '2026-06-10T12:00:00Z'), { open: false, nextOpen: '2026-06-13T20:00:00Z' }, 'Saturday 22:00 CEST: the first night without the weekday freeze');
});

test('only deny windows: open outside them, closed inside', (t) => {
  const freeze = win({ name: 'peak', schedule: '0 8 * * *', duration: '10h', mode: 'deny' });
  t.like(state([freeze], '2026-06-10T05:00:00Z'), { open: true, reason: 'outside-deny-windows', closesAt: '2026-06-10T06:00:00Z' });
  t.like(state([freeze], '2026-06-10T07:00:00Z'), { open: false, reason: 'inside-deny-window', window: 'peak', nextOpen: '2026-06-10T16:00:00Z' });
});

test('overlapping and back-to-back occurrences merge into one open stretch', (t) => {
  const hourly = win({ name: 'hourly', schedule: '0 1-3 * * *', durationMinutes: 60, timeZone: 'UTC' });
  t.like(state([hourly], '2026-06-10T01:10:00Z'), { open: true, closesAt: '2026-06-10T04:00:00Z' });
  const always = win({ name: 'always', schedule: '* * * * *', durationMinutes: 5, timeZone: 'UTC' });
  const s = windowState([always], {}, at('2026-06-10T01:10:00Z'));
  t.true(s.open);
  t.is(s.closesAt, undefined, 'a window that never closes has no closesAt (bounded search, no endless loop)');
});

test('schema: duration forms, one of them, known zones', (t) => {
  t.is(win({ schedule: '0 2 * * *', duration: '1h30m' }).duration, '1h30m');
  t.false(maintenanceWindowSchema.safeParse({ name: 'w', schedule: '0 2 * * *', durationMinutes: 5, duration: '5m' }).success);
  t.false(maintenanceWindowSchema.safeParse({ name: 'w', schedule: '0 2 * * *' }).success);
  t.false(maintenanceWindowSchema.safeParse({ name: 'w', schedule: '0 2 * * *', duration: '2 hours' }).success);
  const zone = maintenanceWindowSchema.safeParse({ name: 'w', schedule: '0 2 * * *', duration: '2h', timeZone: 'Europe/Berlln' });
  t.regex(zone.error?.issues[0]?.message ?? '', /"Europe\/Berlln" is not an IANA time zone/);
  const cron = maintenanceWindowSchema.safeParse({ name: 'w', schedule: '0 2 * 13 *', duration: '2h' });
  t.regex(cron.error?.issues[0]?.message ?? '', /month field "13" is out of range 1–12/);
  t.is(win({ schedule: '0 2 * * *' }).mode, 'allow');
});

test('10,000 devices with 5 windows each: the state of all of them (no minute scanning)', (t) => {
  const windows = [
    nightly,
    win({ name: 'weekend', selector: site, schedule: '0 6 * * sat,sun', duration: '4h' }),
    win({ name: 'freeze', selector: { matchLabels: { tier: 'gold' }, matchExpressions: [] }, schedule: '0 0 * * *', duration: '2h', mode: 'deny' }),
    win({ name: 'leap', selector: site, schedule: '0 0 29 2 *', duration: '24h', timeZone: 'America/New_York' }),
    win({ name: 'monthly', selector: site, schedule: '30 1 L * *', duration: '3h', timeZone: 'Australia/Lord_Howe', mode: 'deny' }),
  ];
  let open = 0;
  for (let i = 0; i < 10_000; i++) {
    const labels = { site: i % 10 === 0 ? 'plant-4' : 'plant-3', tier: i % 3 === 0 ? 'gold' : 'silver' };
    const s = windowState(windows, labels, at('2026-06-10T00:00:00Z') + i * 97_000);
    if (s.open) open += 1;
    else t.truthy(s.nextOpen);
  }
  t.true(open > 0 && open < 10_000);
});
