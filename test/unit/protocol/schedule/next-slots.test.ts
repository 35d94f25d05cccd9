import test from 'ava';
import fc from 'fast-check';
import {
  countSlots,
  cronMatchesDate,
  daysFromCivil,
  dayProfile,
  nextSlot,
  parseCron,
  previousSlot,
  slotsBetween,
  latestSlotsBetween,
  wallClockAt,
  type CronSchedule,
  type Instant,
} from '../../../../src/protocol/index.js';
import { validCronExpression, zoneAndInstant } from './arbitraries.js';

const YEAR = 366 * 86_400_000;

/** Does the slot show the schedule's time on the local clock, or is it the end of a DST gap (the documented rule)? */
function matchesLocally(schedule: CronSchedule, zoneName: string, slot: Instant): boolean {
  const wall = wallClockAt(zoneName, slot);
  const fits =
    schedule.seconds.includes(wall.second) &&
    schedule.minutes.includes(wall.minute) &&
    schedule.hours.includes(wall.hour) &&
    cronMatchesDate(schedule, wall.year, wall.month, wall.day);
  if (fits) return true;
  const profile = dayProfile(zoneName, daysFromCivil(wall.year, wall.month, wall.day));
  return profile.transition === slot && profile.offsetAfter > profile.offsetBefore;
}

function parsedOrUndefined(expression: string): CronSchedule | undefined {
  try {
    return parseCron(expression);
  } catch {
    return undefined; // an impossible date the generator made
  }
}
const scheduleAndZone = fc.tuple(validCronExpression.map(parsedOrUndefined), zoneAndInstant).map(([s, [z, t]]) => [{ s }, z, t] as const);

test('nextSlot is after t, shows the schedule on the local clock, and nothing fires in between', (t) => {
  fc.assert(
    fc.property(scheduleAndZone, ([{ s }, z, after]) => {
      if (!s) return true;
      const next = nextSlot(s, z, after);
      if (next === undefined) return nextSlot(s, z, after, after + YEAR) === undefined;
      if (!(next > after)) return false;
      if (!matchesLocally(s, z, next)) return false;
      if (next - after < 2 * YEAR) {
        const between = slotsBetween(s, z, after, next, 3).slots;
        if (between.length !== 1 || between[0] !== next) return false;
      }
      return previousSlot(s, z, next) === next && (previousSlot(s, z, next - 1) ?? -Infinity) <= after;
    }),
    { numRuns: 1500, seed: 7 },
  );
  t.pass();
});

test('counting by arithmetic equals enumerating, across DST changes', (t) => {
  fc.assert(
    fc.property(scheduleAndZone, fc.integer({ min: 0, max: 3 * 86_400 }), ([{ s }, z, from], span) => {
      if (!s) return true;
      const to = from + span * 1000;
      const listed = slotsBetween(s, z, from, to, 300_000);
      const latest = latestSlotsBetween(s, z, from, to, 7);
      const strictlyAscending = listed.slots.every((x, i) => i === 0 || x > (listed.slots[i - 1] ?? 0));
      return (
        listed.beyondCap === 0 &&
        strictlyAscending &&
        countSlots(s, z, from, to) === listed.slots.length &&
        latest.slots.join() === listed.slots.slice(-7).join() &&
        latest.beyondCap === Math.max(0, listed.slots.length - 7) &&
        listed.slots.every((x) => x > from && x <= to)
      );
    }),
    { numRuns: 400, seed: 11 },
  );
  t.pass();
});

interface NodeCronMatcher {
  getNextMatch(date: Date): Date;
}
type NodeCronShared = { T: new (pattern: string, timezone?: string) => NodeCronMatcher };

test('same next slot as node-cron itself where there is no DST (UTC, Asia/Tokyo)', async (t) => {
  // node-cron does not export its matcher; its bundle does, under a short name.
  const shared = (await import(new URL('../../../../../node_modules/node-cron/dist/_shared.js', import.meta.url).href)) as NodeCronShared;
  let compared = 0;
  fc.assert(
    fc.property(validCronExpression, fc.constantFrom('UTC', 'Asia/Tokyo'), fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }), (expr, z, seconds) => {
      let s: CronSchedule;
      try {
        s = parseCron(expr);
      } catch {
        return true;
      }
      const after = seconds * 1000;
      let theirs: number | undefined;
      try {
        theirs = new shared.T(expr, z).getNextMatch(new Date(after)).getTime();
      } catch {
        return true; // node-cron gives up after 100 years
      }
      compared += 1;
      return nextSlot(s, z, after) === theirs;
    }),
    { numRuns: 300, seed: 3 },
  );
  t.true(compared > 200, `compared ${compared}`);
});

test('a sparse yearly schedule is quick: 200 next slots of 29 February', (t) => {
  const leap = parseCron('0 0 29 2 *');
  let after = Date.parse('2000-01-01T00:00:00Z');
  for (let i = 0; i < 200; i++) after = nextSlot(leap, 'Europe/Berlin', after) ?? Number.NaN;
  const leapYears: number[] = [];
  for (let y = 2000; leapYears.length < 200; y++) if (new Date(Date.UTC(y, 1, 29)).getUTCMonth() === 1) leapYears.push(y);
  t.is(leapYears.at(-1), 2820, 'skipping 2100, 2200, 2300, 2500, 2600 and 2700');
  t.is(new Date(after).toISOString(), '2820-02-28T23:00:00.000Z');
});
