import test from 'ava';
import { jobRunSpecSchema, type JobRunSpec } from '../../../../src/protocol/index.js';
import type { AttemptRequest, AttemptResult } from '../../../../src/device-agent/jobs/attempt.js';
import { executeJob, STOP_REPLACED, type AttemptReport } from '../../../../src/device-agent/jobs/job-execution.js';
import { classifyExit, indexesToStart, retryDelayMs } from '../../../../src/device-agent/jobs/job-decisions.js';

const spec = (over: Record<string, unknown>): JobRunSpec => jobRunSpecSchema.parse({ template: { runtime: 'process', command: ['/bin/true'] }, ...over });

/** A fixed clock that only moves when the execution sleeps: no wall-clock time in these tests. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

function scripted(exits: (number | 'hang')[], time: { now(): number }) {
  const requests: AttemptRequest[] = [];
  let i = 0;
  const attempt = async (request: AttemptRequest): Promise<AttemptResult> => {
    requests.push(request);
    const exit = exits[i++] ?? 0;
    const startedAt = time.now();
    if (exit === 'hang') {
      await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve(), { once: true }));
      return { startedAt, finishedAt: time.now(), output: [], ended: 'aborted', signal: 'SIGTERM' };
    }
    return { startedAt, finishedAt: time.now() + 5, exitCode: exit, output: [`exit ${exit}`], ended: 'exited' };
  };
  return { attempt, requests };
}

test('exit codes: 0 succeeds, FailJob fails the Job, Ignore does not count, others count', (t) => {
  const policy = [
    { action: 'FailJob' as const, exitCodes: [42] },
    { action: 'Ignore' as const, exitCodes: [3] },
  ];
  t.deepEqual(classifyExit(0, policy), { kind: 'succeeded' });
  t.deepEqual(classifyExit(42, policy), { kind: 'fail-job', exitCode: 42 });
  t.deepEqual(classifyExit(3, policy), { kind: 'failed', counts: false });
  t.deepEqual(classifyExit(1, policy), { kind: 'failed', counts: true });
  t.deepEqual(classifyExit(undefined, policy), { kind: 'failed', counts: true });
});

test('retry delay doubles from the base and is capped at six minutes', (t) => {
  t.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(n, 10_000)), [10_000, 20_000, 40_000, 80_000]);
  t.is(retryDelayMs(20, 10_000), 360_000);
  t.is(retryDelayMs(0, 10_000), 0);
});

test('parallelism bounds what starts; done and waiting indexes are not started', (t) => {
  t.deepEqual(indexesToStart({ completions: 3, parallelism: 2, succeeded: new Set(), running: new Set(), waiting: new Set() }), [0, 1]);
  t.deepEqual(indexesToStart({ completions: 3, parallelism: 2, succeeded: new Set([0]), running: new Set([1]), waiting: new Set() }), [2]);
  t.deepEqual(indexesToStart({ completions: 3, parallelism: 2, succeeded: new Set(), running: new Set([1]), waiting: new Set([0]) }), [2]);
});

test('completions 3, parallelism 2, backoffLimit 2: two failures are retried after back-off, then it succeeds', async (t) => {
  const time = fakeTime();
  const { attempt, requests } = scripted([1, 1, 0, 0, 0], time);
  const reports: AttemptReport[] = [];
  const outcome = await executeJob(
    { owner: 'batch', instancePrefix: 'j-x', spec: spec({ completions: 3, parallelism: 2, backoffLimit: 2 }) },
    { attempt, now: time.now, sleep: time.sleep, backoffBaseMs: 10_000 },
    new AbortController().signal,
    async (r) => void reports.push(r),
  );
  t.is(outcome.status, 'succeeded');
  t.is(outcome.succeeded, 3);
  t.is(outcome.failures, 2);
  t.deepEqual(reports.map((r) => r.reason), ['failed', 'failed', 'completed', 'completed', 'completed']);
  t.true(reports[0]?.counted);
  t.true(time.sleeps.includes(10_000));
  t.true(time.sleeps.some((ms) => ms === 20_000 || ms === 19_995));
  t.deepEqual(requests.map((r) => r.id).slice(0, 2), ['j-x-0-1', 'j-x-1-1']);
});

test('backoffLimit 1 with three failures fails the Job after the second', async (t) => {
  const time = fakeTime();
  const { attempt, requests } = scripted([1, 1, 1], time);
  const outcome = await executeJob(
    { owner: 'batch', instancePrefix: 'j-x', spec: spec({ backoffLimit: 1 }) },
    { attempt, now: time.now, sleep: time.sleep, backoffBaseMs: 10_000 },
    new AbortController().signal,
    async () => undefined,
  );
  t.is(outcome.status, 'failed');
  t.is(requests.length, 2);
  t.regex(outcome.message ?? '', /backoffLimit 1 exceeded/);
});

test('a FailJob exit code stops the Job at once, without retry', async (t) => {
  const time = fakeTime();
  const { attempt, requests } = scripted([42, 0, 0], time);
  const outcome = await executeJob(
    { owner: 'batch', instancePrefix: 'j-x', spec: spec({ backoffLimit: 5, exitCodePolicy: [{ action: 'FailJob', exitCodes: [42] }] }) },
    { attempt, now: time.now, sleep: time.sleep, backoffBaseMs: 10_000 },
    new AbortController().signal,
    async () => undefined,
  );
  t.is(outcome.status, 'failed');
  t.is(requests.length, 1);
  t.regex(outcome.message ?? '', /FailJob/);
});

test('a deadline that has passed starts nothing; the attempt gets the deadline to enforce', async (t) => {
  const time = fakeTime(5_000);
  const { attempt, requests } = scripted([0], time);
  const late = await executeJob(
    { owner: 'batch', instancePrefix: 'j-x', spec: spec({ activeDeadlineSeconds: 1 }), deadlineAt: 4_000 },
    { attempt, now: time.now, sleep: time.sleep, backoffBaseMs: 10_000 },
    new AbortController().signal,
    async () => undefined,
  );
  t.is(late.status, 'deadline');
  t.is(requests.length, 0);
  const onTime = await executeJob(
    { owner: 'batch', instancePrefix: 'j-x', spec: spec({ activeDeadlineSeconds: 1 }), deadlineAt: 6_000 },
    { attempt, now: time.now, sleep: time.sleep, backoffBaseMs: 10_000 },
    new AbortController().signal,
    async () => undefined,
  );
  t.is(onTime.status, 'succeeded');
  t.is(requests[0]?.deadlineAt, 6_000);
});

test('an attempt that the runtime ends at the deadline is recorded as deadline', async (t) => {
  const time = fakeTime();
  const attempt = async (request: AttemptRequest): Promise<AttemptResult> => ({ startedAt: time.now(), finishedAt: request.deadlineAt ?? 0, output: [], ended: 'deadline', signal: 'SIGTERM' });
  const reports: AttemptReport[] = [];
  const outcome = await executeJob(
    { owner: 'hang', instancePrefix: 'j-x', spec: spec({ activeDeadlineSeconds: 2 }), deadlineAt: time.now() + 2000 },
    { attempt, now: time.now, sleep: time.sleep, backoffBaseMs: 10_000 },
    new AbortController().signal,
    async (r) => void reports.push(r),
  );
  t.is(outcome.status, 'deadline');
  t.deepEqual(reports.map((r) => r.reason), ['deadline']);
});

test('stopping with Replace records the running attempt as replaced; stopping the agent records nothing', async (t) => {
  for (const [reason, expected] of [[STOP_REPLACED, ['replaced']], ['agent stopping', []]] as const) {
    const time = fakeTime();
    const { attempt } = scripted(['hang'], time);
    const abort = new AbortController();
    const reports: AttemptReport[] = [];
    const running = executeJob(
      { owner: 'long', instancePrefix: 'c-x', spec: spec({}) },
      { attempt, now: time.now, sleep: time.sleep, backoffBaseMs: 10_000 },
      abort.signal,
      async (r) => void reports.push(r),
    );
    await new Promise((r) => setImmediate(r));
    abort.abort(reason);
    const outcome = await running;
    t.is(outcome.status, reason === STOP_REPLACED ? 'replaced' : 'interrupted');
    t.deepEqual(reports.map((r) => r.reason), [...expected]);
  }
});
