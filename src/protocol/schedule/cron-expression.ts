/**
 * Cron expressions, in the dialect node-cron v4 accepts.
 *
 * Why this lives in the protocol: a CronJob's `schedule` and a maintenance window's `schedule` are
 * written once in a manifest and then interpreted by two programs, the hub (which starts rollout waves
 * and validates manifests) and the agent (which runs jobs and refuses installs outside a window, even
 * when the hub is unreachable). If each side had its own reading of `30 2 * * *` in Europe/Berlin, a
 * device would install while the hub believes the window is shut. The meaning of a schedule is
 * therefore part of the hub–agent contract, like a topic name or a payload schema, and the agent may
 * import only the protocol (and firmware). Everything here is pure: no clock, no I/O, only zod.
 *
 * The dialect (checked against node-cron 4.6 by a property test, see
 * test/unit/protocol/schedule/cron-expression.test.ts):
 * - 5 fields `minute hour day-of-month month day-of-week`, or 6 with a leading `second`
 *   (5 fields mean second 0). Fields are separated by one or more spaces.
 * - `*`, `n`, `a-b`, `a-b/s`, `* /s` (without the space), and comma lists of those. A range whose start
 *   is above its end wraps around the field (`22-2` in hours is 22,23,0,1,2), as node-cron does.
 * - Month names and weekday names, full or three letters, any case (`jan`, `March`, `mon-fri`).
 *   Weekday 7 is Sunday, like 0.
 * - `?` as the whole day-of-month or day-of-week field means `*`.
 * - Day of month: `L` (last day), `L-n` (n days before the last, 1–30), `nW` (weekday nearest to day
 *   n, never leaving the month), `LW` (last weekday of the month).
 * - Day of week: `nL` (last such weekday of the month), `n#k` (k-th such weekday, k 1–5).
 * - Nicknames: `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.
 * - Day-of-month AND day-of-week: node-cron requires BOTH to match (unlike Vixie cron, which runs
 *   when either matches if both are restricted). `0 0 13 * 5` is "Friday the 13th" here, not "every
 *   13th and every Friday". We follow node-cron, because the agent's ticks come from it.
 * - A list of plain days that no listed month has (`0 0 30 2 *`) is refused, as node-cron does.
 *
 * Where node-cron is looser by accident of its text substitutions (`5*` read as `50-59`, `jan1` read
 * as `11`), we refuse: everything we accept, node-cron accepts with the same meaning, never the reverse.
 */
import * as z from 'zod';
import { MAX_DAYS_IN_MONTH, civilFromDays, daysFromCivil, daysInMonth, weekdayOf } from './calendar.js';

export type CronField = 'second' | 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

export type CronErrorCode =
  | 'not-a-string'
  | 'empty'
  | 'illegal-characters'
  | 'field-count'
  | 'invalid-token'
  | 'out-of-range'
  | 'invalid-step'
  | 'impossible-date';

/** A schedule that cannot be parsed. `code` is for programs, `message` for people (it names the field). */
export class CronExpressionError extends Error {
  override readonly name = 'CronExpressionError';
  constructor(
    readonly code: CronErrorCode,
    message: string,
    readonly field?: CronField,
  ) {
    super(message);
  }
}

/** A parsed schedule. Sets are sorted ascending without duplicates; the matching helpers below read them. */
export interface CronSchedule {
  /** The expression as written (nicknames unexpanded). */
  readonly source: string;
  readonly hasSeconds: boolean;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** months[m] for m in 1..12. */
  readonly months: readonly boolean[];
  readonly daysOfMonth: DayOfMonthRule;
  readonly daysOfWeek: DayOfWeekRule;
}

export interface DayOfMonthRule {
  /** Plain days 1..31 (from numbers, ranges and `*`). */
  readonly days: readonly boolean[];
  readonly lastDay: boolean;
  /** `L-n`: the values n. */
  readonly beforeLast: readonly number[];
  /** `nW`: the days n; `LW` is 0 here. */
  readonly nearestWeekday: readonly number[];
}

export interface DayOfWeekRule {
  /** weekdays[d] for d in 0..6 (0 = Sunday). */
  readonly weekdays: readonly boolean[];
  /** `dL`: last d of the month. */
  readonly lastOfMonth: readonly number[];
  /** `d#k`. */
  readonly nth: readonly { readonly weekday: number; readonly nth: number }[];
}

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

interface FieldSpec {
  readonly field: CronField;
  readonly min: number;
  readonly max: number;
  /** Highest value accepted in the text (7 for day-of-week, read as 0). */
  readonly maxWritten: number;
  readonly names?: readonly string[];
  /** Value of the first name (1 for months, 0 for weekdays). */
  readonly nameBase?: number;
}

const SPECS: readonly FieldSpec[] = [
  { field: 'second', min: 0, max: 59, maxWritten: 59 },
  { field: 'minute', min: 0, max: 59, maxWritten: 59 },
  { field: 'hour', min: 0, max: 23, maxWritten: 23 },
  { field: 'day-of-month', min: 1, max: 31, maxWritten: 31 },
  { field: 'month', min: 1, max: 12, maxWritten: 12, names: MONTH_NAMES, nameBase: 1 },
  { field: 'day-of-week', min: 0, max: 6, maxWritten: 7, names: WEEKDAY_NAMES, nameBase: 0 },
];

function fail(code: CronErrorCode, spec: FieldSpec, text: string, detail: string): never {
  throw new CronExpressionError(code, `schedule: ${spec.field} field "${text}" ${detail}`, spec.field);
}

/** A number or (in month/day-of-week) a name, full or three letters, any case. */
function readValue(spec: FieldSpec, fieldText: string, token: string): number {
  if (/^\d+$/.test(token)) return Number.parseInt(token, 10);
  const lower = token.toLowerCase();
  if (spec.names) {
    const index = spec.names.findIndex((n) => n === lower || n.slice(0, 3) === lower);
    if (index >= 0) return index + (spec.nameBase ?? 0);
  }
  return fail('invalid-token', spec, fieldText, `has "${token}", which is not a ${spec.names ? 'number or name' : 'number'}`);
}

function checkRange(spec: FieldSpec, fieldText: string, value: number): number {
  if (value < spec.min || value > spec.maxWritten) {
    fail('out-of-range', spec, fieldText, `is out of range ${spec.min}–${spec.maxWritten}`);
  }
  return value === 7 && spec.field === 'day-of-week' ? 0 : value;
}

function readStep(spec: FieldSpec, fieldText: string, text: string): number {
  if (!/^\d+$/.test(text) || Number.parseInt(text, 10) < 1) fail('invalid-step', spec, fieldText, `has step "/${text}"; a step is a whole number of at least 1`);
  return Number.parseInt(text, 10);
}

/** `a-b/step`; a start above the end wraps around the field, as in node-cron. */
function expandRange(spec: FieldSpec, fieldText: string, from: number, to: number, step: number, into: Set<number>): void {
  const size = spec.max - spec.min + 1;
  const span = from <= to ? to - from : (((to - from) % size) + size) % size;
  for (let offset = 0; offset <= span; offset += step) {
    let value = from + offset;
    if (from > to && value > spec.max) value -= size;
    into.add(checkRange(spec, fieldText, value));
  }
}

interface ParsedField {
  values: Set<number>;
  specials: string[];
}

function parseField(spec: FieldSpec, text: string): ParsedField {
  const values = new Set<number>();
  const specials: string[] = [];
  const body = text === '?' && (spec.field === 'day-of-month' || spec.field === 'day-of-week') ? '*' : text;
  for (const item of body.split(',')) {
    let m: RegExpExecArray | null;
    if (item === '*') {
      expandRange(spec, text, spec.min, spec.max, 1, values);
    } else if ((m = /^\*\/(.*)$/.exec(item))) {
      expandRange(spec, text, spec.min, spec.max, readStep(spec, text, m[1] ?? ''), values);
    } else if ((m = /^([A-Za-z0-9]+)-([A-Za-z0-9]+)(?:\/(.*))?$/.exec(item)) && !/^L$/i.test(m[1] ?? '')) {
      const step = m[3] === undefined ? 1 : readStep(spec, text, m[3]);
      expandRange(spec, text, readValue(spec, text, m[1] ?? ''), readValue(spec, text, m[2] ?? ''), step, values);
    } else if (spec.field === 'day-of-month' && /^(L|LW|L-\d{1,2}|\d{1,2}W)$/i.test(item)) {
      specials.push(readDayOfMonthSpecial(spec, text, item.toUpperCase()));
    } else if (spec.field === 'day-of-week' && (m = /^([A-Za-z]+|\d)(L|#\d)$/i.exec(item))) {
      const weekday = checkRange(spec, text, readValue(spec, text, m[1] ?? ''));
      const suffix = (m[2] ?? '').toUpperCase();
      if (suffix !== 'L' && !/^#[1-5]$/.test(suffix)) fail('out-of-range', spec, text, `has "${item}"; the occurrence after # is 1–5`);
      specials.push(`${weekday}${suffix}`);
    } else if (/^[A-Za-z0-9]+$/.test(item)) {
      values.add(checkRange(spec, text, readValue(spec, text, item)));
    } else {
      fail('invalid-token', spec, text, `has "${item}", which is not a value, range, step or list`);
    }
  }
  return { values, specials };
}

function readDayOfMonthSpecial(spec: FieldSpec, text: string, item: string): string {
  if (item === 'L' || item === 'LW') return item;
  const before = /^L-(\d+)$/.exec(item);
  if (before) {
    const n = Number.parseInt(before[1] ?? '', 10);
    if (n < 1 || n > 30) fail('out-of-range', spec, text, `has "${item}"; L-n needs n in 1–30`);
    return `L-${n}`;
  }
  const day = Number.parseInt(item, 10);
  if (day < 1 || day > 31) fail('out-of-range', spec, text, `has "${item}"; nW needs a day in 1–31`);
  return `${day}W`;
}

function sorted(values: Set<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

function flags(values: Set<number>, size: number): boolean[] {
  const out = new Array<boolean>(size).fill(false);
  for (const v of values) out[v] = true;
  return out;
}

/** Parses a schedule or throws a {@link CronExpressionError}. */
export function parseCron(expression: unknown): CronSchedule {
  if (typeof expression !== 'string') throw new CronExpressionError('not-a-string', 'schedule: must be a string');
  const expanded = NICKNAMES[expression.trim().toLowerCase()] ?? expression;
  if (expanded.trim() === '') throw new CronExpressionError('empty', 'schedule: is empty (expected 5 or 6 fields, e.g. "30 2 * * *")');
  const illegal = /[^A-Za-z0-9*/,#?\- ]/.exec(expanded);
  if (illegal) {
    throw new CronExpressionError('illegal-characters', `schedule: "${expression}" has the character ${JSON.stringify(illegal[0])}; use digits, names, * / , - # ? L W and spaces`);
  }
  const fields = expanded.trim().split(/ +/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronExpressionError('field-count', `schedule: "${expression}" has ${fields.length} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (with seconds first)`);
  }
  const hasSeconds = fields.length === 6;
  const texts = hasSeconds ? fields : ['0', ...fields];
  const parsed = SPECS.map((spec, i) => parseField(spec, texts[i] ?? ''));
  const [second, minute, hour, dom, month, dow] = parsed as [ParsedField, ParsedField, ParsedField, ParsedField, ParsedField, ParsedField];
  if (dom.specials.length === 0 && !sorted(month.values).some((m) => sorted(dom.values).some((d) => d <= (MAX_DAYS_IN_MONTH[m] ?? 0)))) {
    throw new CronExpressionError('impossible-date', `schedule: day-of-month field "${texts[3]}" never occurs in month field "${texts[4]}"`, 'day-of-month');
  }
  return {
    source: expression,
    hasSeconds,
    seconds: sorted(second.values),
    minutes: sorted(minute.values),
    hours: sorted(hour.values),
    months: flags(month.values, 13),
    daysOfMonth: {
      days: flags(dom.values, 32),
      lastDay: dom.specials.includes('L'),
      beforeLast: dom.specials.filter((s) => s.startsWith('L-')).map((s) => Number(s.slice(2))),
      nearestWeekday: dom.specials.filter((s) => s.endsWith('W')).map((s) => (s === 'LW' ? 0 : Number.parseInt(s, 10))),
    },
    daysOfWeek: {
      weekdays: flags(dow.values, 7),
      lastOfMonth: dow.specials.filter((s) => s.endsWith('L')).map((s) => Number.parseInt(s, 10)),
      nth: dow.specials.filter((s) => s.includes('#')).map((s) => ({ weekday: Number(s[0]), nth: Number(s.slice(2)) })),
    },
  };
}

/** Parses without throwing. */
export function tryParseCron(expression: unknown): { ok: true; schedule: CronSchedule } | { ok: false; error: CronExpressionError } {
  try {
    return { ok: true, schedule: parseCron(expression) };
  } catch (error) {
    if (error instanceof CronExpressionError) return { ok: false, error };
    throw error;
  }
}

/**
 * Manifest field: a cron expression (kept as text; parse with {@link parseCron} when computing slots).
 * Beyond what node-cron checks, it refuses a schedule that can never fire (`0 0 31 * 1#1`: the 31st is
 * never a first Monday), which node-cron would accept and then wait on forever.
 */
export const cronScheduleSchema = z
  .string()
  .max(256)
  .superRefine((value, ctx) => {
    const result = tryParseCron(value);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.error.message, params: { code: result.error.code } });
    else if (!cronEverFires(result.schedule)) {
      ctx.addIssue({
        code: 'custom',
        message: `schedule: "${value}" never fires (its day-of-month, day-of-week and month fields must all match on one date)`,
        params: { code: 'never-fires' },
      });
    }
  });

/** Does some date of a whole 400-year Gregorian cycle match? (Every date has its times of day, if only at a DST gap's end.) */
export function cronEverFires(schedule: CronSchedule): boolean {
  const start = daysFromCivil(2000, 1, 1);
  for (let day = start; day < start + 146_097; ) {
    const date = civilFromDays(day);
    if (schedule.months[date.month] !== true) day += daysInMonth(date.year, date.month) - date.day + 1;
    else if (cronMatchesDate(schedule, date.year, date.month, date.day)) return true;
    else day += 1;
  }
  return false;
}

function nearestWeekdayInMonth(year: number, month: number, target: number): number {
  const last = daysInMonth(year, month);
  if (target > last) return -1;
  const weekday = weekdayOf(year, month, target);
  if (weekday === 6) return target === 1 ? 3 : target - 1;
  if (weekday === 0) return target === last ? target - 2 : target + 1;
  return target;
}

function dayOfMonthMatches(rule: DayOfMonthRule, year: number, month: number, day: number): boolean {
  if (rule.days[day]) return true;
  const last = daysInMonth(year, month);
  if (rule.lastDay && day === last) return true;
  if (rule.beforeLast.some((n) => last - n === day)) return true;
  return rule.nearestWeekday.some((n) => nearestWeekdayInMonth(year, month, n === 0 ? last : n) === day);
}

function dayOfWeekMatches(rule: DayOfWeekRule, year: number, month: number, day: number): boolean {
  const weekday = weekdayOf(year, month, day);
  if (rule.weekdays[weekday]) return true;
  if (rule.lastOfMonth.includes(weekday) && day + 7 > daysInMonth(year, month)) return true;
  return rule.nth.some((n) => n.weekday === weekday && Math.floor((day - 1) / 7) + 1 === n.nth);
}

/** Does a local calendar date match the schedule's month, day-of-month and day-of-week fields (all three, as node-cron)? */
export function cronMatchesDate(schedule: CronSchedule, year: number, month: number, day: number): boolean {
  return (
    schedule.months[month] === true &&
    dayOfMonthMatches(schedule.daysOfMonth, year, month, day) &&
    dayOfWeekMatches(schedule.daysOfWeek, year, month, day)
  );
}
