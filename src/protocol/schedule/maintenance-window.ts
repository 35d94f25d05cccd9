/**
 * Maintenance windows: when a device may install (downloads may happen any time).
 *
 * A window opens at each slot of its cron schedule (in its time zone, by the DST policy of
 * zoned-time.ts) and stays open for its duration in real elapsed time: a 6 h window that opens at
 * 22:00 on the night clocks go forward closes at 05:00 local, six real hours later, not at 04:00. An
 * occurrence that started before the instant asked about and still lasts counts, so windows cross
 * midnight naturally. Occurrences that overlap or touch merge into one open stretch.
 *
 * For one device: windows whose selector does not match its labels do not apply. With no applicable
 * window the device is always open. A deny window in force closes it whatever else holds (deny beats
 * allow). If any allow window applies, the device is open only inside one; if only deny windows apply,
 * it is open outside them.
 *
 * The hub calls {@link windowState} before starting a wave; the agent calls it before installing, so a
 * device that loses the hub mid-rollout still keeps to its window.
 */
import * as z from 'zod';
import { labelSelectorSchema, type LabelSelector } from '../schemas/placement.js';
import { nameSchema } from '../schemas/common.js';
import { selectorMatches } from '../selector.js';
import { cronScheduleSchema, parseCron, type CronSchedule } from './cron-expression.js';
import { nextSlot, previousSlot } from './next-slots.js';
import { timeZoneSchema, type Instant } from './zoned-time.js';

const MINUTE = 60_000;
/** A window longer than a month is a policy, not a window. */
export const MAX_WINDOW_MINUTES = 31 * 24 * 60;
/** `90m`, `2h`, `1h30m`. */
const DURATION_PATTERN = /^(?:(\d+)h)?(?:(\d+)m)?$/;

/** Parses `2h`, `45m`, `1h30m` into minutes; undefined for anything else. */
export function parseWindowDuration(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text);
  if (!m || text === '') return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

export const windowModeSchema = z.enum(['allow', 'deny']);
export type WindowMode = z.infer<typeof windowModeSchema>;

export const maintenanceWindowSchema = z
  .strictObject({
    name: nameSchema,
    /** Which devices the window applies to (typically a site label); empty matches every device. */
    selector: labelSelectorSchema.default({ matchLabels: {}, matchExpressions: [] }),
    /** When each occurrence opens. */
    schedule: cronScheduleSchema,
    durationMinutes: z.number().int().min(1).max(MAX_WINDOW_MINUTES).optional(),
    /** The same as durationMinutes, written `2h`, `90m` or `1h30m`. */
    duration: z.string().max(16).optional(),
    timeZone: timeZoneSchema.default('UTC'),
    mode: windowModeSchema.default('allow'),
  })
  .superRefine((w, ctx) => {
    if ((w.durationMinutes === undefined) === (w.duration === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['durationMinutes'], message: 'window: give exactly one of durationMinutes and duration' });
    }
    if (w.duration !== undefined) {
      const minutes = parseWindowDuration(w.duration);
      if (minutes === undefined || minutes < 1 || minutes > MAX_WINDOW_MINUTES) {
        ctx.addIssue({ code: 'custom', path: ['duration'], message: `window: duration "${w.duration}" must look like 2h, 90m or 1h30m, between 1m and ${MAX_WINDOW_MINUTES / 60}h` });
      }
    }
  });
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;

/** What the functions here need of a window (the schema's output satisfies it). */
export interface WindowSpec {
  readonly name: string;
  readonly selector: LabelSelector;
  readonly schedule: string;
  readonly durationMinutes?: number;
  readonly duration?: string;
  readonly timeZone: string;
  readonly mode: WindowMode;
}

export type WindowReason =
  /** No window applies to the device: always open. */
  | 'no-windows'
  | 'inside-allow-window'
  | 'outside-allow-windows'
  | 'inside-deny-window'
  /** Only deny windows apply and none is in force. */
  | 'outside-deny-windows';

export interface WindowState {
  readonly open: boolean;
  readonly reason: WindowReason;
  /** The window that decided (the allow window we are in, the deny window that holds). */
  readonly window?: string;
  /** When open: the first instant it will be closed; absent when it will not close within the search horizon ({@link WINDOW_SEARCH_YEARS}). */
  readonly closesAt?: Instant;
  /** When closed: the first instant it will be open (deny windows skipped); absent when not within {@link WINDOW_SEARCH_YEARS}. */
  readonly nextOpen?: Instant;
}

interface PreparedWindow {
  readonly name: string;
  readonly schedule: CronSchedule;
  readonly zone: string;
  readonly durationMs: number;
}

/** Stretches merge at most this many times when looking for an end or an opening (a never-closing window stops here). */
const MAX_STEPS = 500;
/**
 * How far ahead openings are looked for: a fleet asks for thousands of devices at once, and a schedule
 * that never fires must not cost a 400-year search each time. Eight years covers a leap day's gap.
 */
export const WINDOW_SEARCH_YEARS = 8;
const WINDOW_SEARCH_MS = WINDOW_SEARCH_YEARS * 366 * 86_400_000;

const parsedSchedules = new Map<string, CronSchedule>();

function prepare(window: WindowSpec): PreparedWindow {
  let schedule = parsedSchedules.get(window.schedule);
  if (!schedule) {
    schedule = parseCron(window.schedule);
    if (parsedSchedules.size >= 1024) parsedSchedules.clear();
    parsedSchedules.set(window.schedule, schedule);
  }
  const minutes = window.durationMinutes ?? parseWindowDuration(window.duration ?? '') ?? 0;
  return { name: window.name, schedule, zone: window.timeZone, durationMs: minutes * MINUTE };
}

/** The occurrence of `w` in force at `t` (start ≤ t < start + duration), as its end. */
function occurrenceEnd(w: PreparedWindow, t: Instant): Instant | undefined {
  const start = previousSlot(w.schedule, w.zone, t, t - w.durationMs);
  return start !== undefined && start + w.durationMs > t ? start + w.durationMs : undefined;
}

function inForce(windows: readonly PreparedWindow[], t: Instant): PreparedWindow | undefined {
  return windows.find((w) => occurrenceEnd(w, t) !== undefined);
}

/** End of the stretch during which some window of `windows` is in force, starting at `t` (which is inside one). */
function stretchEnd(windows: readonly PreparedWindow[], t: Instant): Instant | undefined {
  let end = t;
  for (let step = 0; step < MAX_STEPS; step++) {
    let extended = end;
    for (const w of windows) extended = Math.max(extended, occurrenceEnd(w, end) ?? end);
    if (extended === end) return end;
    end = extended;
  }
  return undefined;
}

/** First opening of any of `windows` at or after `t`. */
function nextStart(windows: readonly PreparedWindow[], t: Instant): Instant | undefined {
  let first: Instant | undefined;
  for (const w of windows) {
    const start = nextSlot(w.schedule, w.zone, t - 1, t + WINDOW_SEARCH_MS);
    if (start !== undefined && (first === undefined || start < first)) first = start;
  }
  return first;
}

/**
 * Is a device with `labels` inside its maintenance window at `instant`, and when does that change?
 * Pure: the caller passes the instant. Windows must have passed {@link maintenanceWindowSchema}.
 */
export function windowState(windows: readonly WindowSpec[], labels: Readonly<Record<string, string>>, instant: Instant): WindowState {
  const applicable = windows.filter((w) => selectorMatches(labels, w.selector));
  if (applicable.length === 0) return { open: true, reason: 'no-windows' };
  const allow = applicable.filter((w) => w.mode === 'allow').map(prepare);
  const deny = applicable.filter((w) => w.mode === 'deny').map(prepare);

  const denying = inForce(deny, instant);
  const allowing = allow.length === 0 ? undefined : inForce(allow, instant);
  if (denying === undefined && (allow.length === 0 || allowing !== undefined)) {
    const closes = [nextStart(deny, instant + 1), allowing === undefined ? undefined : stretchEnd(allow, instant)];
    const closesAt = closes.reduce<Instant | undefined>((a, b) => (a === undefined ? b : b === undefined ? a : Math.min(a, b)), undefined);
    const reason: WindowReason = allowing ? 'inside-allow-window' : 'outside-deny-windows';
    return { open: true, reason, ...(allowing ? { window: allowing.name } : {}), ...(closesAt === undefined ? {} : { closesAt }) };
  }
  const nextOpen = findOpening(allow, deny, instant);
  const closed = denying
    ? { open: false, reason: 'inside-deny-window' as const, window: denying.name }
    : { open: false, reason: 'outside-allow-windows' as const };
  return { ...closed, ...(nextOpen === undefined ? {} : { nextOpen }) };
}

/** First instant at or after `t` outside every deny window and (if there are allow windows) inside one. */
function findOpening(allow: readonly PreparedWindow[], deny: readonly PreparedWindow[], t: Instant): Instant | undefined {
  let candidate: Instant | undefined = t;
  for (let step = 0; step < MAX_STEPS && candidate !== undefined; step++) {
    if (inForce(deny, candidate)) candidate = stretchEnd(deny, candidate);
    else if (allow.length > 0 && !inForce(allow, candidate)) candidate = nextStart(allow, candidate);
    else return candidate;
  }
  return undefined;
}
