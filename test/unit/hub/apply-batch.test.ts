import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cronJobSpecSchema, jobSpecSchema, workloadSpecSchema } from '../../../src/protocol/index.js';
import type { CronJobRecord, JobRecord } from '../../../src/hub/store/job-records.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import type { WorkloadRecord } from '../../../src/hub/store/records.js';

const now = new Date(0).toISOString();
const workload: WorkloadRecord = { name: 'web', labels: {}, annotations: {}, spec: workloadSpecSchema.parse({ template: { runtime: 'process', command: ['true'] } }), revision: 'r1', createdAt: now, updatedAt: now };
const job = (name: string, assigned: string[] = []): JobRecord => ({ name, uid: 'aaaaaaaaaaaaaaaa', labels: {}, annotations: {}, spec: jobSpecSchema.parse({ template: { runtime: 'process', command: ['true'] } }), createdAt: now, updatedAt: now, assigned });
const cronJob: CronJobRecord = { name: 'tick', labels: {}, annotations: {}, spec: cronJobSpecSchema.parse({ schedule: '* * * * *', jobTemplate: { template: { runtime: 'process', command: ['true'] } } }), revision: 'aaaaaaaa', createdAt: now, updatedAt: now };

test('applyDocuments: one unstorable record, last of the batch, stores nothing; a good batch of every kind is one commit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ep-batch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await openLowdbStore(dir, () => undefined);
  const before = store.commits;
  await t.throwsAsync(store.applyDocuments({ workloads: [workload], cronJobs: [cronJob], jobs: [job('ok'), job('bad', ['NOT A DEVICE ID'])] }));
  t.deepEqual(await store.workloads.list(), []);
  t.deepEqual(await store.jobs.list(), []);
  t.deepEqual(await store.cronJobs.list(), []);
  t.is(store.commits, before, 'nothing was written');
  await store.applyDocuments({ workloads: [workload], cronJobs: [cronJob], jobs: [job('ok')] });
  t.is(store.commits, before + 1, 'one write for the whole apply');
  await store.close();
  const reopened = await openLowdbStore(dir, () => undefined);
  t.is((await reopened.workloads.list()).length, 1);
  t.is((await reopened.jobs.list()).length, 1);
  t.is((await reopened.cronJobs.list()).length, 1);
  await reopened.close();
});
