/**
 * Slots of a cron schedule in a time zone: the instants at which it fires, by the DST policy of
 * zoned-time.ts (a missing local time fires at the end of the gap, a repeated one at its first
 * occurrence; two local times that resolve to one instant are one slot).
 *
 * The search is field-wise, never minute by minute: whole months outside the month field are skipped,
 * each remaining day is checked with calendar arithmetic, and inside a matching day the first
 * qualifying time is found by binary search over the (hour, minute, second) combinations, which is
 * valid because resolving wall times to instants never goes backwards. `0 0 29 2 *` costs a few
 * hundred day checks. Counting slots over years costs one step per day, not per slot.
 *
 * A schedule that fires nowhere within {@link SEARCH_HORIZON_YEARS} (e.g. `0 0 31 * 1#1`: the 31st is
 * never a first Monday) has no next slot: functions return undefined instead of searching forever.
 */
import { civilFromDays, daysInMonth } from './calendar.js';
import { cronMatchesDate, type CronSchedule } from './cron-expression.js';
import { dayProfile, localDayOf, resolveInDay, type DayProfile, type Instant } from './zoned-time.js';

/** Every combination of day-of-month and day-of-week recurs within 400 years (the Gregorian cycle). */
export const SEARCH_HORIZON_YEARS = 400;
const HORIZON_DAYS = SEARCH_HORIZON_YEARS * 366;

function timesPerDay(schedule: CronSchedule): number {
  return schedule.hours.length * schedule.minutes.length * schedule.seconds.length;
}

/** Local milliseconds since midnight of the i-th (hour, minute, second) combination, in ascending order. */
function timeOfDayMs(schedule: CronSchedule, i: number): number {
  const perHour = schedule.minutes.length * schedule.seconds.length;
  const rest = i % perHour;
  const hour = schedule.hours[Math.floor(i / perHour)] ?? 0;
  const minute = schedule.minutes[Math.floor(rest / schedule.seconds.length)] ?? 0;
  const second = schedule.seconds[rest % schedule.seconds.length] ?? 0;
  return ((hour * 60 + minute) * 60 + second) * 1000;
}

function slotAt(schedule: CronSchedule, profile: DayProfile, i: number): Instant {
  return resolveInDay(profile, profile.dayStartLocalMs + timeOfDayMs(schedule, i));
}

/** First index whose slot is strictly after `bound` (times-per-day when there is none). */
function firstIndexAfter(schedule: CronSchedule, profile: DayProfile, bound: Instant): number {
  let lo = 0;
  let hi = timesPerDay(schedule);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (slotAt(schedule, profile, mid) > bound) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Distinct slots among indices [lo, hi) of a day: only the end of a gap can collect several. */
function distinctSlots(schedule: CronSchedule, profile: DayProfile, lo: number, hi: number): number {
  let count = hi - lo;
  const t = profile.transition;
  if (count > 1 && t !== undefined && profile.offsetAfter > profile.offsetBefore) {
    const atGapEnd = Math.min(firstIndexAfter(schedule, profile, t), hi) - Math.max(firstIndexAfter(schedule, profile, t - 1), lo);
    if (atGapEnd > 1) count -= atGapEnd - 1;
  }
  return count;
}

/**
 * Visits the days from `fromDay` towards `toDay` (inclusive; backwards when toDay < fromDay) whose
 * date matches the schedule, skipping months outside the month field. Stops when `visit` returns true.
 */
function scanDays(schedule: CronSchedule, fromDay: number, toDay: number, visit: (day: number) => boolean): void {
  const forward = toDay >= fromDay;
  let day = fromDay;
  while (forward ? day <= toDay : day >= toDay) {
    const date = civilFromDays(day);
    if (schedule.months[date.month] !== true) {
      day = forward ? day + daysInMonth(date.year, date.month) - date.day + 1 : day - date.day;
      continue;
    }
    if (cronMatchesDate(schedule, date.year, date.month, date.day) && visit(day)) return;
    day += forward ? 1 : -1;
  }
}

/** The first slot strictly after `after`, or undefined when none comes before `until` (default: the search horizon). */
export function nextSlot(schedule: CronSchedule, zone: string, after: Instant, until?: Instant): Instant | undefined {
  if (!Number.isFinite(after)) return undefined;
  const firstDay = localDayOf(zone, after) - 1;
  const lastDay = until === undefined ? firstDay + HORIZON_DAYS : localDayOf(zone, until) + 1;
  let found: Instant | undefined;
  scanDays(schedule, firstDay, lastDay, (day) => {
    const profile = dayProfile(zone, day);
    const i = firstIndexAfter(schedule, profile, after);
    if (i >= timesPerDay(schedule)) return false;
    found = slotAt(schedule, profile, i);
    return true;
  });
  return found !== undefined && until !== undefined && found > until ? undefined : found;
}

/** The last slot at or before `atOrBefore`, or undefined when none is at or after `notBefore` (default: the search horizon). */
export function previousSlot(schedule: CronSchedule, zone: string, atOrBefore: Instant, notBefore?: Instant): Instant | undefined {
  if (!Number.isFinite(atOrBefore)) return undefined;
  const firstDay = localDayOf(zone, atOrBefore) + 1;
  const lastDay = notBefore === undefined ? firstDay - HORIZON_DAYS : localDayOf(zone, notBefore) - 1;
  let found: Instant | undefined;
  scanDays(schedule, firstDay, lastDay, (day) => {
    const profile = dayProfile(zone, day);
    const i = firstIndexAfter(schedule, profile, atOrBefore) - 1;
    if (i < 0) return false;
    found = slotAt(schedule, profile, i);
    return true;
  });
  return found !== undefined && notBefore !== undefined && found < notBefore ? undefined : found;
}

export interface SlotList {
  /** Ascending, at most `cap`. */
  readonly slots: Instant[];
  /** Slots in the range that are not in `slots` (counted by arithmetic, never enumerated). */
  readonly beyondCap: number;
}

/** Number of slots in (from, to]: one step per day of the range, whatever the number of slots. */
export function countSlots(schedule: CronSchedule, zone: string, from: Instant, to: Instant): number {
  if (!(to > from) || !Number.isFinite(from) || !Number.isFinite(to)) return 0;
  let count = 0;
  scanDays(schedule, localDayOf(zone, from) - 1, localDayOf(zone, to) + 1, (day) => {
    const profile = dayProfile(zone, day);
    count += distinctSlots(schedule, profile, firstIndexAfter(schedule, profile, from), firstIndexAfter(schedule, profile, to));
    return false;
  });
  return count;
}

/** The earliest `cap` slots in (from, to], and how many more there are. */
export function slotsBetween(schedule: CronSchedule, zone: string, from: Instant, to: Instant, cap: number): SlotList {
  const slots: Instant[] = [];
  if (!(to > from) || !Number.isFinite(from) || !Number.isFinite(to)) return { slots, beyondCap: 0 };
  let count = 0;
  scanDays(schedule, localDayOf(zone, from) - 1, localDayOf(zone, to) + 1, (day) => {
    const profile = dayProfile(zone, day);
    const lo = firstIndexAfter(schedule, profile, from);
    const hi = firstIndexAfter(schedule, profile, to);
    count += distinctSlots(schedule, profile, lo, hi);
    for (let i = lo; i < hi && slots.length < cap; i++) {
      const slot = slotAt(schedule, profile, i);
      if (slot !== slots[slots.length - 1]) slots.push(slot);
    }
    return false;
  });
  return { slots, beyondCap: count - slots.length };
}

/** The latest `cap` slots in (from, to] (ascending), and how many earlier ones there are. */
export function latestSlotsBetween(schedule: CronSchedule, zone: string, from: Instant, to: Instant, cap: number): SlotList {
  const newestFirst: Instant[] = [];
  if (!(to > from) || !Number.isFinite(from) || !Number.isFinite(to)) return { slots: newestFirst, beyondCap: 0 };
  let capped = false;
  scanDays(schedule, localDayOf(zone, to) + 1, localDayOf(zone, from) - 1, (day) => {
    const profile = dayProfile(zone, day);
    const lo = firstIndexAfter(schedule, profile, from);
    for (let i = firstIndexAfter(schedule, profile, to) - 1; i >= lo; i--) {
      const slot = slotAt(schedule, profile, i);
      if (slot === newestFirst[newestFirst.length - 1]) continue;
      if (newestFirst.length >= cap) {
        capped = true;
        return true;
      }
      newestFirst.push(slot);
    }
    return false;
  });
  const slots = newestFirst.reverse();
  return { slots, beyondCap: capped ? countSlots(schedule, zone, from, to) - slots.length : 0 };
}
