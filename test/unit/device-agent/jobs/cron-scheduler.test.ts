import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cronJobRunSpecSchema, type DesiredCronJob, type JobRunRecord } from '../../../../src/protocol/index.js';
import { CronScheduler } from '../../../../src/device-agent/jobs/cron-scheduler.js';
import { STOP_REPLACED, type ExecutionOutcome } from '../../../../src/device-agent/jobs/job-execution.js';
import { JobStateFile } from '../../../../src/device-agent/jobs/job-state.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

function cronJob(over: Record<string, unknown>, revision = 'aaaaaaaa'): DesiredCronJob {
  return {
    name: 'tick',
    revision,
    spec: cronJobRunSpecSchema.parse({ schedule: '*/2 * * * * *', jobTemplate: { template: { runtime: 'process', command: ['/bin/true'] } }, ...over }),
  };
}

interface Harness {
  scheduler: CronScheduler;
  state: JobStateFile;
  records: JobRunRecord[];
  started: { scheduledAt: number; trigger: string; signal: AbortSignal; finish: (o: ExecutionOutcome) => void }[];
  clock: { now: number };
  dir: string;
}

async function harness(t: { teardown(fn: () => Promise<void>): void }, dir?: string): Promise<Harness> {
  const folder = dir ?? (await mkdtemp(join(tmpdir(), 'ep-cron-')));
  if (!dir) t.teardown(() => rm(folder, { recursive: true, force: true }));
  const state = new JobStateFile(folder, () => undefined);
  await state.load();
  const records: JobRunRecord[] = [];
  const started: Harness['started'] = [];
  const clock = { now: T0 };
  const scheduler = new CronScheduler({
    state,
    record: async (r) => void records.push(...r),
    now: () => clock.now,
    ticker: () => () => undefined, // ticks are driven by the test
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    execute: (_cron, slot, signal) =>
      new Promise<ExecutionOutcome>((resolve) => {
        started.push({ scheduledAt: slot.scheduledAt, trigger: slot.trigger, signal, finish: resolve });
        signal.addEventListener('abort', () => resolve({ status: signal.reason === STOP_REPLACED ? 'replaced' : 'interrupted', succeeded: 0, failures: 0 }), { once: true });
      }),
  });
  await scheduler.start();
  return { scheduler, state, records, started, clock, dir: folder };
}

async function tickAt(h: Harness, at: number): Promise<void> {
  h.clock.now = at;
  await h.scheduler.tick();
}

test('first sight starts from now; each slot then runs once, even when ticked twice', async (t) => {
  const h = await harness(t);
  await h.scheduler.setCronJobs([cronJob({})]);
  await tickAt(h, T0);
  t.is(h.started.length, 0);
  await tickAt(h, T0 + 2000);
  await tickAt(h, T0 + 2500);
  t.deepEqual(h.started.map((s) => [s.scheduledAt - T0, s.trigger]), [[2000, 'scheduled']]);
  h.started[0]?.finish({ status: 'succeeded', succeeded: 1, failures: 0 });
  await new Promise((r) => setImmediate(r));
  t.is(h.state.ledger('tick').history.at(-1)?.status, 'succeeded');
});

test('Forbid: a slot that comes while a run is going is skipped and recorded', async (t) => {
  const h = await harness(t);
  await h.scheduler.setCronJobs([cronJob({ concurrencyPolicy: 'Forbid' })]);
  await tickAt(h, T0);
  await tickAt(h, T0 + 2000);
  await tickAt(h, T0 + 4000);
  t.is(h.started.length, 1);
  t.deepEqual(h.records.map((r) => r.reason), ['forbidden-by-concurrency']);
  t.is(h.records[0]?.scheduledAt, new Date(T0 + 4000).toISOString());
});

test('Replace: the running one is stopped before the next starts', async (t) => {
  const h = await harness(t);
  await h.scheduler.setCronJobs([cronJob({ concurrencyPolicy: 'Replace' })]);
  await tickAt(h, T0);
  await tickAt(h, T0 + 2000);
  await tickAt(h, T0 + 4000);
  t.is(h.started.length, 2);
  t.true(h.started[0]?.signal.aborted);
  t.is(h.started[0]?.signal.reason, STOP_REPLACED);
  t.false(h.started[1]?.signal.aborted);
  // The replaced run's end is in the ledger, not overwritten by the new slot's record.
  t.deepEqual(h.state.ledger('tick').history.map((r) => [r.scheduledAt - T0, r.status]), [[2000, 'failed'], [4000, 'started']]);
});

test('Allow: overlapping runs both go', async (t) => {
  const h = await harness(t);
  await h.scheduler.setCronJobs([cronJob({})]);
  await tickAt(h, T0);
  await tickAt(h, T0 + 2000);
  await tickAt(h, T0 + 4000);
  t.is(h.started.length, 2);
  t.false(h.started[0]?.signal.aborted);
});

for (const [policy, runs] of [['RunOnce', 1], ['Skip', 0]] as const) {
  test(`agent off across three slots, missedRuns ${policy}: ${runs} catch-up run(s), the miss recorded`, async (t) => {
    const first = await harness(t);
    await first.scheduler.setCronJobs([cronJob({ missedRuns: policy, schedule: '*/10 * * * * *' })]);
    await tickAt(first, T0);
    await first.scheduler.stop();
    // The same state folder, 35 s later (slots at +10, +20, +30 missed): a new agent process.
    const second = await harness(t, first.dir);
    await second.state.setDesired(1, [], [cronJob({ missedRuns: policy, schedule: '*/10 * * * * *' })]);
    second.clock.now = T0 + 35_000;
    await second.scheduler.setCronJobs([cronJob({ missedRuns: policy, schedule: '*/10 * * * * *' })]);
    await second.scheduler.tick();
    t.is(second.started.length, runs);
    if (runs === 1) t.deepEqual([second.started[0]?.trigger, (second.started[0]?.scheduledAt ?? 0) - T0], ['catch-up', 30_000]);
    const missed = second.records.filter((r) => r.reason === 'skipped-missed');
    t.is(missed.length, 1);
    t.regex(missed[0]?.message ?? '', policy === 'RunOnce' ? /2 slots missed.*catch-up/ : /3 slots missed.*Skip/);
  });
}

test('a run cut short by an agent restart is recorded as failed (interrupted), not run again', async (t) => {
  const first = await harness(t);
  await first.scheduler.setCronJobs([cronJob({})]);
  await tickAt(first, T0);
  await tickAt(first, T0 + 2000);
  t.is(first.started.length, 1);
  // The process dies: no stop(), the ledger still says started.
  const second = await harness(t, first.dir);
  t.deepEqual(second.records.map((r) => [r.reason, r.scheduledAt]), [['failed', new Date(T0 + 2000).toISOString()]]);
  t.regex(second.records[0]?.message ?? '', /interrupted/);
  t.is(second.state.ledger('tick').history.at(-1)?.status, 'failed');
});

test('suspend stops scheduling; a removed CronJob fires no more', async (t) => {
  const h = await harness(t);
  await h.scheduler.setCronJobs([cronJob({ suspend: true })]);
  await tickAt(h, T0);
  await tickAt(h, T0 + 2000);
  t.is(h.started.length, 0);
  await h.scheduler.setCronJobs([cronJob({}, 'bbbbbbbb')]);
  await tickAt(h, T0 + 2100);
  await tickAt(h, T0 + 4000);
  t.is(h.started.filter((s) => s.trigger === 'scheduled').length, 1);
  await h.scheduler.setCronJobs([]);
  await tickAt(h, T0 + 6000);
  t.is(h.started.filter((s) => s.trigger === 'scheduled').length, 1);
});

for (const [day, start] of [
  ['spring-forward (02:30 does not exist: fires at 03:00 CEST)', Date.UTC(2026, 2, 28, 12, 0)],
  ['fall-back (02:30 happens twice: fires once)', Date.UTC(2026, 9, 24, 12, 0)],
] as const) {
  test(`DST, daily 02:30 Europe/Berlin on the ${day}`, async (t) => {
    const h = await harness(t);
    h.clock.now = start;
    await h.scheduler.setCronJobs([cronJob({ schedule: '30 2 * * *', timeZone: 'Europe/Berlin' })]);
    // A tick every second would do the same; every 10 s over 24 h keeps the test quick.
    for (let at = start; at <= start + 24 * 3600_000; at += 10_000) await tickAt(h, at);
    t.is(h.started.length, 1, 'exactly one run that day');
    const fired = new Date(h.started[0]?.scheduledAt ?? 0).toISOString();
    t.is(fired, day.startsWith('spring') ? '2026-03-29T01:00:00.000Z' : '2026-10-25T00:30:00.000Z');
    t.deepEqual(h.records, [], 'nothing missed');
  });
}
