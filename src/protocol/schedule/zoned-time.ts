/**
 * Wall clock ↔ instant in an IANA time zone, with one DST policy used everywhere (cron slots,
 * maintenance windows, the cron ledger):
 *
 * - **Gap (spring forward)**: a local time that does not exist (02:30 on 2026-03-29 in Europe/Berlin)
 *   resolves to the first instant after the gap (03:00 local, 01:00Z). We do not skip it: a daily
 *   backup or a nightly maintenance window would otherwise silently lose a day once a year, which no
 *   operator expects; running it late by at most the gap (an hour, 30 min on Lord Howe) is the lesser
 *   surprise (Vixie cron makes the same choice). Several local times in one gap resolve to the same
 *   instant and so make one slot, not several.
 * - **Repeated time (fall back)**: a local time that occurs twice (02:30 on 2026-10-25 in
 *   Europe/Berlin) resolves to its first occurrence only (02:30 CEST, 00:30Z). A daily job runs once.
 *   The consequence for sub-daily schedules: an hourly job has two real hours between its 02:00 (CEST)
 *   and 03:00 (CET) runs that night, and an every-minute job pauses for the repeated hour.
 *
 * Instants are epoch milliseconds (numbers). Nothing here reads the clock. Offsets come from
 * `Intl.DateTimeFormat` (Node 20 ships full ICU), cached per zone; except for `UTC` (the default zone
 * of CronJobs and windows), whose wall clock is arithmetic: a process's first `Intl.DateTimeFormat`
 * makes ICU load ~8 MB of data it keeps, which a device agent with only UTC schedules need not pay.
 */
import * as z from 'zod';
import { civilFromDays, daysFromCivil } from './calendar.js';

/** Epoch milliseconds. */
export type Instant = number;

export interface WallClock {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/**
 * Where UTC's wall clock is plain arithmetic and equals Intl's: from 1583 (before it, ICU's calendar is
 * Julian, `civilFromDays` is proleptic Gregorian) to the end of year 9999.
 */
const UTC_ARITHMETIC_FROM = -12_212_553_600_000; // 1583-01-01T00:00:00Z
const UTC_ARITHMETIC_UNTIL = 253_402_300_800_000; // 10000-01-01T00:00:00Z

/** The zone's own spelling of a name Intl accepts, or undefined when Intl does not know the zone. */
export function canonicalTimeZone(zone: string): string | undefined {
  if (zone === 'UTC') return zone;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Manifest field: an IANA zone name, spelled as the tz database spells it (`Europe/Berlin`, `UTC`). */
export const timeZoneSchema = z
  .string()
  .max(64)
  .superRefine((zone, ctx) => {
    const canonical = /^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone) ? canonicalTimeZone(zone) : undefined;
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: `timeZone: "${zone}" is not an IANA time zone (e.g. "Europe/Berlin", "America/New_York", "UTC")` });
    } else if (canonical.toLowerCase() === zone.toLowerCase() && canonical !== zone) {
      ctx.addIssue({ code: 'custom', message: `timeZone: "${zone}" is spelled "${canonical}"` });
    }
  });

/** Wall clock `date` as if it were UTC, in milliseconds: the "local milliseconds" of a wall time. */
export function wallClockToLocalMs(wall: WallClock): number {
  return daysFromCivil(wall.year, wall.month, wall.day) * DAY + ((wall.hour * 60 + wall.minute) * 60 + wall.second) * SECOND;
}

export function localMsToWallClock(localMs: number): WallClock {
  const days = Math.floor(localMs / DAY);
  const date = civilFromDays(days);
  const secondsOfDay = Math.floor((localMs - days * DAY) / SECOND);
  return { ...date, hour: Math.floor(secondsOfDay / 3600), minute: Math.floor(secondsOfDay / 60) % 60, second: secondsOfDay % 60 };
}

/** The local wall clock (to the second) at an instant. Throws a RangeError for a zone Intl does not know. */
export function wallClockAt(zone: string, instant: Instant): WallClock {
  if (zone === 'UTC' && instant >= UTC_ARITHMETIC_FROM && instant < UTC_ARITHMETIC_UNTIL) return localMsToWallClock(Math.floor(instant / SECOND) * SECOND);
  const formatter = formatterFor(zone);
  // format() and a regular expression are about four times faster than formatToParts().
  const m = /^(\d+)\/(\d+)\/(\d+) (AD|BC), (\d+):(\d+):(\d+)$/.exec(formatter.format(instant));
  if (m) {
    const year = Number(m[3]);
    return { year: m[4] === 'BC' ? 1 - year : year, month: Number(m[1]), day: Number(m[2]), hour: Number(m[5]), minute: Number(m[6]), second: Number(m[7]) };
  }
  const parts = formatter.formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? Number.NaN);
  const era = parts.find((p) => p.type === 'era')?.value;
  const year = era === 'BC' ? 1 - get('year') : get('year');
  return { year, month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** Local time minus UTC at an instant, in milliseconds (whole seconds: some historical offsets have them). */
export function offsetAt(zone: string, instant: Instant): number {
  const whole = Math.floor(instant / SECOND) * SECOND;
  return wallClockToLocalMs(wallClockAt(zone, whole)) - whole;
}

/**
 * How the instants of one local calendar day relate to its wall clock. Real zones change offset at
 * most once in the ~56 h around a day (`transition` is that change), which lets a day's wall times
 * resolve with arithmetic instead of one Intl call each. Checked for all 418 zones of Node 20's ICU,
 * 1990–2040, sampled daily: no two changes closer than 60 h. Two changes inside the window that
 * cancel out would go unseen here; tzdata has none in that period.
 */
export interface DayProfile {
  /** Local milliseconds of the day's 00:00:00. */
  readonly dayStartLocalMs: number;
  readonly offsetBefore: number;
  /** First instant with `offsetAfter`; absent when the offset does not change around this day. */
  readonly transition?: Instant;
  readonly offsetAfter: number;
}

const PROFILE_CACHE_LIMIT = 8192;
const profiles = new Map<string, DayProfile>();

/** Profile of local day `days` (days since 1970-01-01) in `zone`; cached (bounded), so fleets of devices share the work. */
export function dayProfile(zone: string, days: number): DayProfile {
  const key = `${zone}|${days}`;
  const cached = profiles.get(key);
  if (cached) return cached;
  const dayStartLocalMs = days * DAY;
  // Every wall time of the day maps into [start - 16 h, end + 16 h] (offsets stay within ±16 h, LMT included).
  const lo = dayStartLocalMs - 16 * HOUR;
  const hi = dayStartLocalMs + DAY + 16 * HOUR;
  const offsetBefore = offsetAt(zone, lo);
  const offsetAfter = offsetAt(zone, hi);
  let profile: DayProfile;
  if (offsetBefore === offsetAfter) {
    profile = { dayStartLocalMs, offsetBefore, offsetAfter };
  } else {
    // Binary search, to the second, for the first instant that has the new offset.
    let before = lo;
    let after = hi;
    while (after - before > SECOND) {
      const mid = before + Math.floor((after - before) / 2 / SECOND) * SECOND;
      if (offsetAt(zone, mid) === offsetBefore) before = mid;
      else after = mid;
    }
    profile = { dayStartLocalMs, offsetBefore, transition: after, offsetAfter };
  }
  if (profiles.size >= PROFILE_CACHE_LIMIT) profiles.clear();
  profiles.set(key, profile);
  return profile;
}

/**
 * The instant of a wall time (given as local milliseconds) within a profiled day, by the policy above:
 * the first occurrence of a repeated time, the end of the gap for a missing one. Non-decreasing in
 * `localMs`, which the slot search relies on.
 */
export function resolveInDay(profile: DayProfile, localMs: number): Instant {
  const early = localMs - profile.offsetBefore;
  if (profile.transition === undefined) return early;
  if (early < profile.transition) return early;
  const late = localMs - profile.offsetAfter;
  return late >= profile.transition ? late : profile.transition;
}

export type WallClockResolution = 'exact' | 'repeated-first' | 'gap-end';

/** A wall time in a zone → its instant, and which rule applied. */
export function resolveWallClock(zone: string, wall: WallClock): { instant: Instant; resolution: WallClockResolution } {
  const localMs = wallClockToLocalMs(wall);
  const profile = dayProfile(zone, daysFromCivil(wall.year, wall.month, wall.day));
  const instant = resolveInDay(profile, localMs);
  let resolution: WallClockResolution = 'exact';
  if (profile.transition !== undefined) {
    const earlyValid = localMs - profile.offsetBefore < profile.transition;
    const lateValid = localMs - profile.offsetAfter >= profile.transition;
    if (earlyValid && lateValid) resolution = 'repeated-first';
    else if (!earlyValid && !lateValid) resolution = 'gap-end';
  }
  return { instant, resolution };
}

/** Local calendar day (days since 1970-01-01) of an instant. */
export function localDayOf(zone: string, instant: Instant): number {
  return Math.floor((Math.floor(instant / SECOND) * SECOND + offsetAt(zone, instant)) / DAY);
}
