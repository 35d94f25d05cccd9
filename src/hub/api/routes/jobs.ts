import type { FastifyInstance } from 'fastify';
import {
  jobFromCronJobRequestSchema,
  nextSlot,
  parseCron,
  suspendRequestSchema,
  validate,
  type CronJobDetail,
  type CronJobView,
  type JobDetail,
  type JobView,
} from '../../../protocol/index.js';
import { cronJobDevices } from '../../jobs/job-placement.js';
import { cronJobRecordFor, newJobUid } from '../../jobs/job-manifests.js';
import { cronJobStatus, jobStatus } from '../../jobs/job-status.js';
import { runOwnerKey, type CronJobRecord, type JobRecord } from '../../store/job-records.js';
import { eventSubjects } from '../../store/records.js';
import type { HubStore } from '../../store/repository.js';
import { badRequest, HttpError, notFound } from '../http-error.js';
import { nameParam } from '../params.js';

export interface JobRouteDeps {
  store: HubStore;
  now: () => Date;
  /** Recompute desired documents after a change and wait for it. */
  reconcile(): Promise<void>;
}

export const jobEventSubject = eventSubjects.job;
export const cronJobEventSubject = eventSubjects.cronJob;

async function jobView(deps: JobRouteDeps, job: JobRecord): Promise<JobView> {
  const runs = await deps.store.jobRuns.list(runOwnerKey('Job', job.name));
  const status = jobStatus(job, runs, deps.now().getTime());
  return {
    name: job.name,
    uid: job.uid,
    labels: job.labels,
    spec: job.spec,
    createdAt: job.createdAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.fromCronJob ? { fromCronJob: job.fromCronJob } : {}),
    ...(job.unplaced ? { unplaced: job.unplaced } : {}),
    status: { state: status.state, completions: status.completions, devices: status.devices },
  };
}

async function cronJobView(deps: JobRouteDeps, cronJob: CronJobRecord): Promise<CronJobView> {
  const now = deps.now().getTime();
  const runs = await deps.store.jobRuns.list(runOwnerKey('CronJob', cronJob.name));
  const devices = await deps.store.devices.list();
  const status = cronJobStatus(cronJob, runs, { now, devices: new Set(devices.map((d) => d.id)) });
  const next = cronJob.spec.suspend ? undefined : nextSlot(parseCron(cronJob.spec.schedule), cronJob.spec.timeZone, now);
  return {
    name: cronJob.name,
    labels: cronJob.labels,
    spec: cronJob.spec,
    revision: cronJob.revision,
    createdAt: cronJob.createdAt,
    devices: cronJobDevices(cronJob, devices, now),
    status: {
      ...(status.lastScheduleTime ? { lastScheduleTime: status.lastScheduleTime } : {}),
      ...(status.lastRun ? { lastRun: status.lastRun } : {}),
      ...(next !== undefined ? { nextRun: new Date(next).toISOString() } : {}),
      active: status.active,
      ...(status.unaccounted.length > 0 ? { unaccounted: status.unaccounted } : {}),
    },
  };
}

export function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  const { store } = deps;
  app.get('/v1/jobs', async () => {
    const jobs = (await store.jobs.list()).sort((a, b) => a.name.localeCompare(b.name));
    return { items: await Promise.all(jobs.map((j) => jobView(deps, j))) };
  });

  app.get('/v1/jobs/:name', async (request): Promise<JobDetail> => {
    const name = nameParam(request.params, 'job');
    const job = await store.jobs.get(name);
    if (!job) throw notFound(`job ${name}`);
    const runs = (await store.jobRuns.list(runOwnerKey('Job', name))).filter((r) => r.jobUid === undefined || r.jobUid === job.uid);
    return { ...(await jobView(deps, job)), runs, events: await store.events.list(jobEventSubject(name)) };
  });

  app.delete('/v1/jobs/:name', async (request) => {
    const name = nameParam(request.params, 'job');
    if (!(await store.jobs.delete(name))) throw notFound(`job ${name}`);
    await deps.reconcile();
    return { kind: 'Job', name, action: 'deleted' };
  });

  app.post('/v1/jobs/from-cronjob', async (request) => {
    const body = validate(jobFromCronJobRequestSchema, request.body);
    if (!body.ok) throw badRequest(body.error);
    const cronJob = await store.cronJobs.get(body.value.cronJob);
    if (!cronJob) throw notFound(`cronjob ${body.value.cronJob}`);
    const now = deps.now();
    const name = body.value.name ?? `${cronJob.name}-manual-${Math.floor(now.getTime() / 1000).toString(36)}`.slice(0, 63).replace(/-+$/, '');
    if (await store.jobs.get(name)) throw new HttpError(409, 'AlreadyExists', `job ${name} already exists; pick another with --name`);
    const time = now.toISOString();
    const job: JobRecord = {
      name,
      uid: newJobUid(),
      labels: cronJob.labels,
      annotations: { 'edgepilot.io/created-from': `cronjob/${cronJob.name}` },
      spec: { ...cronJob.spec.jobTemplate, suspend: false, placement: 'everyDevice', selector: cronJob.spec.selector, tolerations: cronJob.spec.tolerations },
      createdAt: time,
      updatedAt: time,
      assigned: [],
      fromCronJob: cronJob.name,
    };
    await store.jobs.putAll([job]);
    await store.events.append(jobEventSubject(name), { time, type: 'Normal', reason: 'Created', message: `created from cronjob ${cronJob.name} (run now, on every device of the CronJob)` });
    await deps.reconcile();
    return { kind: 'Job', name, action: 'created' };
  });

  app.get('/v1/cronjobs', async () => {
    const cronJobs = (await store.cronJobs.list()).sort((a, b) => a.name.localeCompare(b.name));
    return { items: await Promise.all(cronJobs.map((c) => cronJobView(deps, c))) };
  });

  app.get('/v1/cronjobs/:name', async (request): Promise<CronJobDetail> => {
    const name = nameParam(request.params, 'cronjob');
    const cronJob = await store.cronJobs.get(name);
    if (!cronJob) throw notFound(`cronjob ${name}`);
    return { ...(await cronJobView(deps, cronJob)), runs: await store.jobRuns.list(runOwnerKey('CronJob', name)), events: await store.events.list(cronJobEventSubject(name)) };
  });

  app.post('/v1/cronjobs/:name/suspend', async (request) => {
    const name = nameParam(request.params, 'cronjob');
    const body = validate(suspendRequestSchema, request.body);
    if (!body.ok) throw badRequest(body.error);
    const cronJob = await store.cronJobs.get(name);
    if (!cronJob) throw notFound(`cronjob ${name}`);
    const time = deps.now().toISOString();
    const { record, action } = cronJobRecordFor({ apiVersion: 'edgepilot.io/v1', kind: 'CronJob', metadata: { name, labels: cronJob.labels, annotations: cronJob.annotations }, spec: { ...cronJob.spec, suspend: body.value.suspend } }, cronJob, time);
    if (action !== 'unchanged') {
      await store.cronJobs.putAll([record]);
      await store.events.append(cronJobEventSubject(name), { time, type: 'Normal', reason: body.value.suspend ? 'Suspended' : 'Resumed', message: body.value.suspend ? 'suspended: devices stop scheduling it' : 'resumed: devices schedule it again' });
      await deps.reconcile();
    }
    return { kind: 'CronJob', name, action: body.value.suspend ? 'suspended' : 'resumed' };
  });

  app.delete('/v1/cronjobs/:name', async (request) => {
    const name = nameParam(request.params, 'cronjob');
    if (!(await store.cronJobs.delete(name))) throw notFound(`cronjob ${name}`);
    await deps.reconcile();
    return { kind: 'CronJob', name, action: 'deleted' };
  });
}
