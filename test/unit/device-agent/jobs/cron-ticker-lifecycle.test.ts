// The CronJob ticker runs only while the device has CronJobs (issue 11, a lean agent): node-cron
// formats the time with Intl on every tick, and ICU's time-zone data is several MB of RSS that an
// agent without CronJobs need not hold.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cronJobRunSpecSchema, type DesiredCronJob } from '../../../../src/protocol/index.js';
import { CronScheduler } from '../../../../src/device-agent/jobs/cron-scheduler.js';
import { JobStateFile } from '../../../../src/device-agent/jobs/job-state.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

function cronJob(name: string): DesiredCronJob {
  return { name, revision: 'aaaaaaaa', spec: cronJobRunSpecSchema.parse({ schedule: '*/2 * * * * *', jobTemplate: { template: { runtime: 'process', command: ['/bin/true'] } } }) };
}

test('no ticker without CronJobs; one with the first, kept while any is left, stopped with the last and on stop()', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ep-cron-ticker-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const state = new JobStateFile(dir, () => undefined);
  await state.load();
  const tickers = { started: 0, stopped: 0 };
  const scheduler = new CronScheduler({
    state,
    record: async () => undefined,
    now: () => T0,
    ticker: () => {
      tickers.started += 1;
      return () => void (tickers.stopped += 1);
    },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    execute: () => {
      throw new Error('no run is due in this test');
    },
  });
  await scheduler.start();
  t.deepEqual(tickers, { started: 0, stopped: 0 }, 'an agent without CronJobs does not tick');
  await scheduler.setCronJobs([cronJob('a'), cronJob('b')]);
  await scheduler.setCronJobs([cronJob('a')]);
  t.deepEqual(tickers, { started: 1, stopped: 0 }, 'one ticker for every CronJob');
  await scheduler.setCronJobs([]);
  t.deepEqual(tickers, { started: 1, stopped: 1 }, 'stopped with the last CronJob');
  await scheduler.setCronJobs([cronJob('c')]);
  await scheduler.stop();
  t.deepEqual(tickers, { started: 2, stopped: 2 });
});
