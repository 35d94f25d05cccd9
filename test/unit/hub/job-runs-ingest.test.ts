import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { cronJobSpecSchema, type JobRunRecord } from '../../../src/protocol/index.js';
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
