import test from 'ava';
import {
  cronLedgerStateSchema,
  dueRuns,
  parseCron,
  recordDueRuns,
  recordRunFinished,
  type CronLedgerState,
  type DueRunsOptions,
  type Instant,
} from '../../../../src/protocol/index.js';

const at = (iso: string): Instant => Date.parse(iso);
const iso = (t: Instant | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString().replace('.000Z', 'Z'));
const hourly = parseCron('0 * * * *');
const runOnce: DueRunsOptions = { missedRuns: 'RunOnce' };
const skip: DueRunsOptions = { missedRuns: 'Skip' };
const ledger = (last: string): CronLedgerState => ({ lastScheduledAt: at(last), history: [] });

test('on time: the current slot runs as scheduled, nothing missed', (t) => {
  const d = dueRuns(ledger('2026-06-10T13:00:00Z'), hourly, 'UTC', at('2026-06-10T14:00:00.400Z'), skip);
  t.deepEqual(d.run, { scheduledAt: at('2026-06-10T14:00:00Z'), trigger: 'scheduled' });
  t.deepEqual(d.skipped, []);
  t.is(iso(d.lastScheduledAt), '2026-06-10T14:00:00Z');
  t.is(iso(d.nextScheduledAt), '2026-06-10T15:00:00Z');
});

test('a 3-slot outage: RunOnce runs one catch-up for the newest missed slot, Skip runs none and records three', (t) => {
  const before = ledger('2026-06-10T10:00:00Z');
  const now = at('2026-06-10T13:30:00Z');
  const once = dueRuns(before, hourly, 'UTC', now, runOnce);
  t.deepEqual(once.run, { scheduledAt: at('2026-06-10T13:00:00Z'), trigger: 'catch-up' });
  t.deepEqual(once.skipped.map(iso), ['2026-06-10T11:00:00Z', '2026-06-10T12:00:00Z']);
  t.is(iso(once.lastScheduledAt), '2026-06-10T13:00:00Z');

  const skipped = dueRuns(before, hourly, 'UTC', now, skip);
  t.is(skipped.run, undefined);
  t.deepEqual(skipped.skipped.map(iso), ['2026-06-10T11:00:00Z', '2026-06-10T12:00:00Z', '2026-06-10T13:00:00Z']);
  const after = recordDueRuns(before, skipped, now);
  t.deepEqual(after.history.map((r) => [iso(r.scheduledAt), r.status]), [
    ['2026-06-10T11:00:00Z', 'skipped-missed'],
    ['2026-06-10T12:00:00Z', 'skipped-missed'],
    ['2026-06-10T13:00:00Z', 'skipped-missed'],
  ]);
  // Asked again a minute later, nothing is run or recorded twice.
  const again = dueRuns(after, hourly, 'UTC', now + 60_000, runOnce);
  t.is(again.run, undefined);
  t.deepEqual(again.skipped, []);
});

test('startingDeadlineSeconds excludes slots older than the deadline from catching up', (t) => {
  const before = ledger('2026-06-10T10:00:00Z');
  const now = at('2026-06-10T13:30:00Z');
  const tooOld = dueRuns(before, hourly, 'UTC', now, { missedRuns: 'RunOnce', startingDeadlineSeconds: 600 });
  t.is(tooOld.run, undefined);
  t.is(tooOld.skipped.length, 3);
  const recent = dueRuns(before, hourly, 'UTC', now, { missedRuns: 'RunOnce', startingDeadlineSeconds: 3600 });
  t.deepEqual(recent.run, { scheduledAt: at('2026-06-10T13:00:00Z'), trigger: 'catch-up' });
  // A deadline shorter than the grace also bounds an on-time run.
  const late = dueRuns(ledger('2026-06-10T13:00:00Z'), hourly, 'UTC', at('2026-06-10T14:00:30Z'), { missedRuns: 'Skip', startingDeadlineSeconds: 10 });
  t.is(late.run, undefined);
  t.deepEqual(late.skipped.map(iso), ['2026-06-10T14:00:00Z']);
});

test('a million missed slots (every minute, off for ~2 years): bounded work, counted exactly, still schedules', (t) => {
  const everyMinute = parseCron('* * * * *');
  const last = at('2024-01-01T00:00:00Z');
  const now = last + 1_000_000 * 60_000 + 30_000;
  const d = dueRuns({ lastScheduledAt: last, history: [] }, everyMinute, 'UTC', now, { missedRuns: 'Skip', cap: 50 });
  t.deepEqual(d.run, { scheduledAt: last + 1_000_000 * 60_000, trigger: 'scheduled' }, 'the current slot still runs');
  t.is(d.skipped.length, 50);
  t.is(d.skippedBeyondCap, 999_999 - 50);
  t.is(d.skipped[49], last + 999_999 * 60_000, 'the newest missed slots are the ones listed');
  t.is(d.newestBeyondCap, last + (999_999 - 50) * 60_000);
  t.is(d.nextScheduledAt, last + 1_000_001 * 60_000);
  const state = recordDueRuns({ lastScheduledAt: last, history: [] }, d, now, 20);
  t.is(state.history.length, 20, 'history stays bounded');
  t.like(state.history[19], { status: 'started', trigger: 'scheduled' });

  const catchUp = dueRuns({ lastScheduledAt: last, history: [] }, everyMinute, 'UTC', now + 60_000, { missedRuns: 'RunOnce', cap: 10, graceSeconds: 10 });
  t.is(catchUp.run?.trigger, 'catch-up');
  t.is(catchUp.skipped.length + catchUp.skippedBeyondCap, 1_000_000, 'every missed slot but the caught-up one is accounted for');
  const summary = recordDueRuns({ lastScheduledAt: last, history: [] }, catchUp, now, 100).history[0];
  t.like(summary, { status: 'skipped-missed', count: 1_000_000 - catchUp.skipped.length });
  t.true(catchUp.skipped.length <= 10);
});

test('first start: no catch-up, scheduling starts from now', (t) => {
  const now = at('2026-06-10T13:30:00Z');
  const d = dueRuns({ history: [] }, hourly, 'UTC', now, runOnce);
  t.is(d.run, undefined);
  t.deepEqual(d.skipped, []);
  t.is(d.lastScheduledAt, now);
  t.is(iso(d.nextScheduledAt), '2026-06-10T14:00:00Z');
});

test('clock stepped backwards: slots already run are not run again', (t) => {
  const ran = ledger('2026-06-10T14:00:00Z');
  const back = dueRuns(ran, hourly, 'UTC', at('2026-06-10T13:30:00Z'), runOnce);
  t.true(back.clockBehind);
  t.is(back.run, undefined);
  t.deepEqual(back.skipped, []);
  t.is(iso(back.lastScheduledAt), '2026-06-10T14:00:00Z');
  t.is(iso(back.nextScheduledAt), '2026-06-10T15:00:00Z');
  const stepped = recordDueRuns(ran, back, at('2026-06-10T13:30:00Z'));
  const passAgain = dueRuns(stepped, hourly, 'UTC', at('2026-06-10T14:00:10Z'), runOnce);
  t.is(passAgain.run, undefined, 'the 14:00 slot was already run');
  const next = dueRuns(stepped, hourly, 'UTC', at('2026-06-10T15:00:10Z'), runOnce);
  t.is(next.run?.trigger, 'scheduled');
});

test('daily 02:30 Europe/Berlin, ticked every minute: once on the spring-forward day, once (not twice) on the fall-back day', (t) => {
  const daily = parseCron('30 2 * * *');
  for (const [from, to, expected] of [
    ['2026-03-28T20:00:00Z', '2026-03-29T06:00:00Z', ['2026-03-29T01:00:00Z']],
    ['2026-10-24T20:00:00Z', '2026-10-25T06:00:00Z', ['2026-10-25T00:30:00Z']],
  ] as const) {
    let state: CronLedgerState = { history: [] };
    const runs: string[] = [];
    for (let now = at(from); now <= at(to); now += 60_000) {
      const d = dueRuns(state, daily, 'Europe/Berlin', now + 1_500, { missedRuns: 'RunOnce' });
      if (d.run) runs.push(iso(d.run.scheduledAt) ?? '');
      state = recordDueRuns(state, d, now + 1_500);
    }
    t.deepEqual(runs, [...expected]);
  }
});

test('ledger state: a zod schema for the durable file, and finishing a run', (t) => {
  const d = dueRuns(ledger('2026-06-10T13:00:00Z'), hourly, 'UTC', at('2026-06-10T14:00:01Z'), skip);
  let state = recordDueRuns(ledger('2026-06-10T13:00:00Z'), d, at('2026-06-10T14:00:01Z'));
  state = recordRunFinished(state, at('2026-06-10T14:00:00Z'), { status: 'succeeded', finishedAt: at('2026-06-10T14:00:09Z'), exitCode: 0 });
  t.like(state.history[0], { status: 'succeeded', trigger: 'scheduled', exitCode: 0 });
  t.deepEqual(cronLedgerStateSchema.parse(JSON.parse(JSON.stringify(state))), state);
  t.false(cronLedgerStateSchema.safeParse({ history: [{ scheduledAt: 1, status: 'exploded' }] }).success);
});
