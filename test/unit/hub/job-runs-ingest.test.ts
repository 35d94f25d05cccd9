import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { cronJobSpecSchema, jobSpecSchema, type JobRunRecord } from '../../../src/protocol/index.js';
import { cronJobStatus } from '../../../src/hub/jobs/job-status.js';
import type { JobRecord, StoredJobRun } from '../../../src/hub/store/job-records.js';
import { mergeRun } from '../../../src/hub/store/run-merge.js';
import { JobsPlanner } from '../../../src/hub/jobs/jobs-planner.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';

const record = (id: string, name: string): JobRunRecord => ({ id, owner: { kind: 'CronJob', name }, attempt: 1, finishedAt: new Date(0).toISOString(), output: ['hi'], reason: 'completed' });

test('run records are on disk before the ack; duplicates and records of deleted CronJobs are acknowledged, not stored twice or kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ep-ingest-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await openLowdbStore(dir, () => undefined);
  const now = new Date(0).toISOString();
  await store.cronJobs.putAll([{ name: 'tick', labels: {}, annotations: {}, spec: cronJobSpecSchema.parse({ schedule: '* * * * *', jobTemplate: { template: { runtime: 'process', command: ['true'] } } }), revision: 'aaaaaaaa', createdAt: now, updatedAt: now }]);
  const acks: { device: string; ids: string[]; storedAtAck: number }[] = [];
  const planner = new JobsPlanner({
    store,
    now: () => new Date(0),
    acknowledge: async (device, ids) => {
      // What is in store.json on disk at the moment of the ack.
      const onDisk = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')) as { jobRuns: Record<string, unknown[]> };
      acks.push({ device, ids, storedAtAck: onDisk.jobRuns['CronJob/tick']?.length ?? 0 });
    },
    changed: () => undefined,
    log: createLogger('test', 'error'),
  });
  await planner.ingest('dev-a', { records: [record('r1', 'tick'), record('r2', 'gone')] });
  await planner.ingest('dev-a', { records: [record('r1', 'tick')] });
  await planner.ingest('dev-b', { records: [record('r1', 'tick')] });
  t.deepEqual(acks.map((a) => [a.device, a.ids, a.storedAtAck]), [['dev-a', ['r1', 'r2'], 1], ['dev-a', ['r1'], 1], ['dev-b', ['r1'], 2]]);
  await store.close();
  const reopened = await openLowdbStore(dir, () => undefined);
  t.deepEqual((await reopened.jobRuns.list('CronJob/tick')).map((r) => `${r.device}/${r.id}`), ['dev-a/r1', 'dev-b/r1']);
  t.deepEqual(await reopened.jobRuns.list('CronJob/gone'), []);
  await reopened.close();
});

const jobRecord = (name: string, uid: string, assigned: string[]): JobRecord => ({
  name,
  uid,
  labels: {},
  annotations: {},
  spec: jobSpecSchema.parse({ template: { runtime: 'process', command: ['true'] } }),
  createdAt: new Date(0).toISOString(),
  updatedAt: new Date(0).toISOString(),
  assigned,
});

async function plannerWithStore(t: ExecutionContext): Promise<{ planner: JobsPlanner; store: Awaited<ReturnType<typeof openLowdbStore>>; acks: string[][] }> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-ingest-'));
  const store = await openLowdbStore(dir, () => undefined);
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const acks: string[][] = [];
  const planner = new JobsPlanner({ store, now: () => new Date(0), acknowledge: async (_d, ids) => void acks.push(ids), changed: () => undefined, log: createLogger('test', 'error') });
  return { planner, store, acks };
}

const jobRun = (id: string, uid: string, reason: JobRunRecord['reason'] = 'completed'): JobRunRecord => ({
  id,
  owner: { kind: 'Job', name: 'batch' },
  jobUid: uid,
  completionIndex: 0,
  attempt: 1,
  startedAt: new Date(0).toISOString(),
  ...(reason === 'running' ? {} : { finishedAt: new Date(1000).toISOString() }),
  output: [],
  reason,
});

test('records for a Job from a device it was never sent to are refused (acknowledged, not stored) with one warning event', async (t) => {
  const { planner, store, acks } = await plannerWithStore(t);
  await store.jobs.putAll([jobRecord('batch', 'aaaaaaaaaaaaaaaa', ['dev-a'])]);
  await planner.ingest('dev-a', { records: [jobRun('j:1', 'aaaaaaaaaaaaaaaa')] });
  await planner.ingest('dev-x', { records: [jobRun('j:1', 'aaaaaaaaaaaaaaaa')] });
  await planner.ingest('dev-x', { records: [jobRun('j:2', 'aaaaaaaaaaaaaaaa')] });
  t.deepEqual((await store.jobRuns.list('Job/batch')).map((r) => `${r.device}/${r.id}`), ['dev-a/j:1']);
  t.deepEqual(acks, [['j:1'], ['j:1'], ['j:2']], 'acknowledged all the same: the agent stops resending');
  const refusals = (await store.events.list('job/batch')).filter((e) => e.reason === 'RunRecordsRefused');
  t.is(refusals.length, 1, 'said once');
  t.regex(refusals[0]?.message ?? '', /device dev-x refused: this Job was never sent to it/);
});

test('a start notice is replaced by its end record; a late start notice after the end is ignored; an interrupted slot ends its starts', async (t) => {
  const { planner, store } = await plannerWithStore(t);
  await store.jobs.putAll([jobRecord('batch', 'aaaaaaaaaaaaaaaa', ['dev-a'])]);
  await planner.ingest('dev-a', { records: [jobRun('j:x:0:1:start', 'aaaaaaaaaaaaaaaa', 'running')] });
  t.deepEqual((await store.jobRuns.list('Job/batch')).map((r) => r.reason), ['running']);
  await planner.ingest('dev-a', { records: [jobRun('j:x:0:1', 'aaaaaaaaaaaaaaaa')] });
  await planner.ingest('dev-a', { records: [jobRun('j:x:0:1:start', 'aaaaaaaaaaaaaaaa', 'running')] });
  t.deepEqual((await store.jobRuns.list('Job/batch')).map((r) => `${r.id} ${r.reason}`), ['j:x:0:1 completed']);

  const now = new Date(0).toISOString();
  await store.cronJobs.putAll([{ name: 'tick', labels: {}, annotations: {}, spec: cronJobSpecSchema.parse({ schedule: '* * * * *', jobTemplate: { template: { runtime: 'process', command: ['true'] } } }), revision: 'aaaaaaaa', createdAt: now, updatedAt: now }]);
  const slot = new Date(60_000).toISOString();
  await planner.ingest('dev-a', { records: [{ ...record('c:tick:60000:0:1:start', 'tick'), reason: 'running', scheduledAt: slot, finishedAt: undefined }] });
  const cron = await store.cronJobs.get('tick');
  if (!cron) throw new Error('no cronjob');
  t.is(cronJobStatus(cron, await store.jobRuns.list('CronJob/tick'), { now: 0, devices: new Set(['dev-a']) }).active.length, 1, 'active while running');
  await planner.ingest('dev-a', { records: [{ ...record('c:tick:60000:interrupted', 'tick'), attempt: 0, reason: 'failed', scheduledAt: slot }] });
  const runs = await store.jobRuns.list('CronJob/tick');
  t.deepEqual(runs.map((r) => r.id), ['c:tick:60000:interrupted']);
  t.is(cronJobStatus(cron, runs, { now: 0, devices: new Set(['dev-a']) }).active.length, 0);
});

test('mergeRun: a later attempt of the same completion ends a start notice whose end never came; an older start after it is stale', (t) => {
  const stored = (over: Partial<StoredJobRun>): StoredJobRun => ({ ...jobRun('x', 'u1', 'running'), device: 'd', receivedAt: new Date(0).toISOString(), ...over });
  const dangling = stored({ id: 'j:u1:0:1:start', attempt: 1 });
  const next = stored({ id: 'j:u1:0:2:start', attempt: 2 });
  t.deepEqual(mergeRun([dangling], next)?.map((r) => r.id), ['j:u1:0:2:start']);
  t.is(mergeRun([next], dangling), undefined, 'an older start notice arriving late adds nothing');
  const otherDevice = stored({ id: 'j:u1:0:1:start', attempt: 1, device: 'e' });
  t.deepEqual(mergeRun([otherDevice], next)?.map((r) => `${r.device}/${r.id}`), ['e/j:u1:0:1:start', 'd/j:u1:0:2:start'], 'another device is another run');
});

test('a Job changed through the API while a pass marks it finished: the pass writes no event, and the next says Completed once', async (t) => {
  const { planner, store } = await plannerWithStore(t);
  const uid = 'aaaaaaaaaaaaaaaa';
  await store.jobs.putAll([jobRecord('batch', uid, ['dev-a'])]);
  await planner.ingest('dev-a', { records: [jobRun('j:1', uid)] });
  // The API re-applies the Job (a label, same uid) between the pass's read and its write.
  let reapplied = false;
  const racing = {
    ...store,
    jobRuns: {
      ...store.jobRuns,
      list: async (owner: string) => {
        if (!reapplied) {
          reapplied = true;
          await store.jobs.putAll([{ ...jobRecord('batch', uid, ['dev-a']), labels: { team: 'b' } }]);
        }
        return store.jobRuns.list(owner);
      },
    },
  };
  await planner.plan([], racing);
  t.true(reapplied);
  t.is((await store.jobs.get('batch'))?.finishedAt, undefined, 'the re-applied record was not overwritten');
  t.deepEqual((await store.events.list('job/batch')).map((e) => e.reason), [], 'nothing said for a record that was not written');
  await planner.plan([]);
  t.truthy((await store.jobs.get('batch'))?.finishedAt);
  t.deepEqual((await store.events.list('job/batch')).map((e) => e.reason), ['Completed']);
  await planner.plan([]);
  t.deepEqual((await store.events.list('job/batch')).map((e) => e.reason), ['Completed'], 'said once');
});
