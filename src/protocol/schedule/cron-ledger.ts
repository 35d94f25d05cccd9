/**
 * The agent's cron ledger: which CronJob slots to run, and which were missed, decided from durable
 * state rather than from a timer's memory. node-cron forgets everything on restart and never replays a
 * missed run; the agent stores `CronLedgerState` per CronJob (durably) and asks {@link dueRuns} on each
 * tick, after a reboot, or after a long power loss.
 *
 * Rules (slots by the DST policy of zoned-time.ts):
 * - Unmet slots are those in (lastScheduledAt, now].
 * - The newest unmet slot is *on time* if it is at most `graceSeconds` (and at most
 *   `startingDeadlineSeconds`) old: it runs, trigger `scheduled`. Every other unmet slot is *missed*.
 * - Missed slots are recorded as `skipped-missed`. With `missedRuns: RunOnce` and no on-time run, the
 *   newest missed slot runs instead, trigger `catch-up`, if it is within `startingDeadlineSeconds`
 *   (no deadline: any age). One decision never runs more than one slot.
 * - Work is bounded: at most `cap` missed slots are listed (the newest); the rest are only counted,
 *   by calendar arithmetic, one step per day. A job missed a million times still schedules (Kubernetes
 *   once gave up for good after 100 misses; we never give up).
 * - First start (no lastScheduledAt): scheduling starts from now; nothing is caught up.
 * - Clock stepped backwards (now < lastScheduledAt): nothing runs and lastScheduledAt stays, so slots
 *   already run are not run again when the clock passes them a second time.
 */
import * as z from 'zod';
import type { CronSchedule } from './cron-expression.js';
import { latestSlotsBetween, nextSlot, previousSlot } from './next-slots.js';
import type { Instant } from './zoned-time.js';

export const missedRunsPolicySchema = z.enum(['Skip', 'RunOnce']);
export type MissedRunsPolicy = z.infer<typeof missedRunsPolicySchema>;

export const LEDGER_HISTORY_LIMIT = 100;
export const DEFAULT_MISSED_CAP = 100;
export const DEFAULT_GRACE_SECONDS = 60;

export const runRecordSchema = z.strictObject({
  scheduledAt: z.number().int(),
  status: z.enum(['skipped-missed', 'started', 'succeeded', 'failed']),
  trigger: z.enum(['scheduled', 'catch-up']).optional(),
  /** A skipped-missed record that stands for several slots: this one and `count - 1` earlier ones not listed. */
  count: z.number().int().min(1).optional(),
  startedAt: z.number().int().optional(),
  finishedAt: z.number().int().optional(),
  exitCode: z.number().int().optional(),
  message: z.string().max(512).optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

/** What the agent stores, durably, per CronJob. */
export const cronLedgerStateSchema = z.strictObject({
  lastScheduledAt: z.number().int().optional(),
  history: z.array(runRecordSchema).max(LEDGER_HISTORY_LIMIT * 4).default([]),
});
export type CronLedgerState = z.infer<typeof cronLedgerStateSchema>;

export interface DueRunsOptions {
  readonly missedRuns: MissedRunsPolicy;
  /** A slot older than this is never started (Kubernetes' field of the same name). */
  readonly startingDeadlineSeconds?: number;
  /** Most missed slots listed one by one (default 100). */
  readonly cap?: number;
  /** How late a tick may come and still run its slot as scheduled (default 60 s). */
  readonly graceSeconds?: number;
}

export interface DueRuns {
  /** The slot to run now, if any. */
  readonly run?: { readonly scheduledAt: Instant; readonly trigger: 'scheduled' | 'catch-up' };
  /** Missed slots not run, newest `cap` of them, ascending. */
  readonly skipped: Instant[];
  /** Missed slots not run and not listed (older than `skipped`). */
  readonly skippedBeyondCap: number;
  /** The newest of those unlisted slots, for the ledger's summary record. */
  readonly newestBeyondCap?: Instant;
  /** What to store as lastScheduledAt. */
  readonly lastScheduledAt: Instant;
  /** When to ask again: the first slot after now (undefined if the schedule never fires again). */
  readonly nextScheduledAt?: Instant;
  /** now was before lastScheduledAt: the clock went backwards. */
  readonly clockBehind: boolean;
}

/** Which slots of a CronJob to run now and which to record as missed. Pure; `now` is an argument. */
export function dueRuns(state: CronLedgerState, schedule: CronSchedule, zone: string, now: Instant, options: DueRunsOptions): DueRuns {
  const cap = Math.max(0, Math.floor(options.cap ?? DEFAULT_MISSED_CAP));
  const deadlineMs = options.startingDeadlineSeconds === undefined ? Number.POSITIVE_INFINITY : options.startingDeadlineSeconds * 1000;
  const graceMs = Math.min((options.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000, deadlineMs);
  const last = state.lastScheduledAt;
  if (last === undefined || now <= last) {
    const lastScheduledAt = last === undefined ? now : last;
    return withNext({ skipped: [], skippedBeyondCap: 0, lastScheduledAt, clockBehind: last !== undefined && now < last }, schedule, zone, Math.max(now, lastScheduledAt));
  }
  const newest = previousSlot(schedule, zone, now, last + 1);
  if (newest === undefined) return withNext({ skipped: [], skippedBeyondCap: 0, lastScheduledAt: last, clockBehind: false }, schedule, zone, now);

  const onTime = now - newest <= graceMs;
  const missedUpTo = onTime ? newest - 1 : newest;
  const missed = latestSlotsBetween(schedule, zone, last, missedUpTo, cap);
  let skipped = missed.slots;
  let run: DueRuns['run'];
  if (onTime) run = { scheduledAt: newest, trigger: 'scheduled' };
  else if (options.missedRuns === 'RunOnce' && now - newest <= deadlineMs) {
    run = { scheduledAt: newest, trigger: 'catch-up' };
    skipped = skipped.filter((slot) => slot !== newest);
  }
  // When the listed slots were capped, the catch-up took one of them: the count stays exact.
  const first = skipped[0] ?? (run ? run.scheduledAt : newest);
  const newestBeyondCap = missed.beyondCap > 0 ? previousSlot(schedule, zone, first - 1, last + 1) : undefined;
  return withNext(
    {
      ...(run ? { run } : {}),
      skipped,
      skippedBeyondCap: missed.beyondCap,
      ...(newestBeyondCap === undefined ? {} : { newestBeyondCap }),
      lastScheduledAt: newest,
      clockBehind: false,
    },
    schedule,
    zone,
    now,
  );
}

function withNext(decision: Omit<DueRuns, 'nextScheduledAt'>, schedule: CronSchedule, zone: string, after: Instant): DueRuns {
  const next = nextSlot(schedule, zone, after);
  return next === undefined ? decision : { ...decision, nextScheduledAt: next };
}

/** The ledger after a decision: new lastScheduledAt, skipped slots and the started run appended (history bounded). */
export function recordDueRuns(state: CronLedgerState, decision: DueRuns, now: Instant, historyLimit = LEDGER_HISTORY_LIMIT): CronLedgerState {
  const added: RunRecord[] = [];
  if (decision.skippedBeyondCap > 0 && decision.newestBeyondCap !== undefined) {
    added.push({ scheduledAt: decision.newestBeyondCap, status: 'skipped-missed', count: decision.skippedBeyondCap });
  }
  for (const scheduledAt of decision.skipped) added.push({ scheduledAt, status: 'skipped-missed' });
  if (decision.run) added.push({ scheduledAt: decision.run.scheduledAt, status: 'started', trigger: decision.run.trigger, startedAt: now });
  added.sort((a, b) => a.scheduledAt - b.scheduledAt);
  const history = [...state.history, ...added].slice(-historyLimit);
  return { lastScheduledAt: decision.lastScheduledAt, history };
}

/** The ledger after a started run finished. */
export function recordRunFinished(
  state: CronLedgerState,
  scheduledAt: Instant,
  result: { status: 'succeeded' | 'failed'; finishedAt: Instant; exitCode?: number; message?: string },
): CronLedgerState {
  const history = state.history.map((r) => (r.scheduledAt === scheduledAt && r.status === 'started' ? { ...r, ...result } : r));
  return { ...state, history };
}
