import type { StoredJobRun, JobRecord, CronJobRecord } from '../store/job-records.js';
import { jobDeadline } from './job-placement.js';

/**
 * A Job's status, derived from the run records its devices sent (pure). A device is Complete when it
 * has run `completions` distinct completion indexes to exit 0; Failed when a run hit the deadline, exited
 * with a FailJob code, or counted failures went past backoffLimit; Pending before its first record
 * (an offline device shows Pending until it returns, or Failed once the deadline passed without it).
 */
export type DeviceJobState = 'Pending' | 'Running' | 'Complete' | 'Failed';

/** Records sent before a deadline may still be on their way (an agent's outbox drains on reconnect). */
export const DEADLINE_GRACE_MS = 60_000;

export interface DeviceJobStatus {
  device: string;
  state: DeviceJobState;
  succeeded: number;
  failed: number;
  lastExitCode?: number;
  lastReason?: string;
}

export interface JobStatus {
  state: 'Suspended' | 'Pending' | 'Running' | 'Complete' | 'Failed';
  /** `everyDevice`: devices complete / devices given; `scheduled`: completions done / completions. */
  completions: string;
  devices: DeviceJobStatus[];
  finished: boolean;
}

export function deviceJobStatus(job: JobRecord, device: string, runs: readonly StoredJobRun[], now: number): DeviceJobStatus {
  const mine = runs.filter((r) => r.device === device && r.jobUid === job.uid);
  const ignored = new Set(job.spec.exitCodePolicy.filter((p) => p.action === 'Ignore').flatMap((p) => p.exitCodes));
  const failJob = new Set(job.spec.exitCodePolicy.filter((p) => p.action === 'FailJob').flatMap((p) => p.exitCodes));
  const succeeded = new Set(mine.filter((r) => r.reason === 'completed').map((r) => r.completionIndex ?? 0)).size;
  const failures = mine.filter((r) => r.reason === 'failed');
  const counted = failures.filter((r) => r.exitCode === undefined || !ignored.has(r.exitCode)).length;
  const last = mine.at(-1);
  const base = {
    device,
    succeeded,
    failed: failures.length,
    ...(last?.exitCode !== undefined ? { lastExitCode: last.exitCode } : {}),
    ...(last ? { lastReason: last.reason } : {}),
  };
  if (succeeded >= job.spec.completions) return { ...base, state: 'Complete' };
  const deadline = jobDeadline(job);
  const failed =
    mine.some((r) => r.reason === 'deadline') ||
    failures.some((r) => r.exitCode !== undefined && failJob.has(r.exitCode)) ||
    counted > job.spec.backoffLimit ||
    // Past the deadline (and a grace for records on their way) with no end reported: a device that
    // never ran it, or one that sent a start notice and was never heard from again.
    (deadline !== undefined && now >= deadline + DEADLINE_GRACE_MS && mine.every((r) => r.reason === 'running'));
  if (failed) return { ...base, state: 'Failed' };
  return { ...base, state: mine.length === 0 ? 'Pending' : 'Running' };
}

export function jobStatus(job: JobRecord, runs: readonly StoredJobRun[], now: number): JobStatus {
  const devices = job.assigned.map((d) => deviceJobStatus(job, d, runs, now));
  const finished = devices.length > 0 && devices.every((d) => d.state === 'Complete' || d.state === 'Failed');
  const completions =
    job.spec.placement === 'everyDevice'
      ? `${devices.filter((d) => d.state === 'Complete').length}/${devices.length}`
      : `${Math.min(devices[0]?.succeeded ?? 0, job.spec.completions)}/${job.spec.completions}`;
  let state: JobStatus['state'];
  if (finished) state = devices.some((d) => d.state === 'Failed') ? 'Failed' : 'Complete';
  else if (job.spec.suspend) state = 'Suspended';
  else state = devices.some((d) => d.state !== 'Pending') ? 'Running' : 'Pending';
  return { state, completions, devices, finished };
}

export interface CronJobStatus {
  lastRun?: StoredJobRun;
  lastScheduleTime?: string;
  /** Attempts running now: start notices whose end has not arrived (per device, oldest first). */
  active: StoredJobRun[];
  /**
   * Start notices that can no longer be running: their device was deleted, or the template's
   * activeDeadlineSeconds (plus a grace) passed with no end reported (the device went silent).
   */
  unaccounted: { run: StoredJobRun; why: string }[];
}

export interface CronJobStatusContext {
  now: number;
  /** Devices that still exist; start notices of others are unaccounted. */
  devices: ReadonlySet<string>;
}

/** Last run, running attempts and the slots seen, from records (the schedule itself lives on the devices). */
export function cronJobStatus(cronJob: CronJobRecord, runs: readonly StoredJobRun[], context: CronJobStatusContext): CronJobStatus {
  const ran = runs.filter((r) => r.startedAt !== undefined && r.reason !== 'running');
  const last = ran.at(-1);
  const slots = runs.map((r) => r.scheduledAt).filter((s): s is string => s !== undefined).sort();
  const active: StoredJobRun[] = [];
  const unaccounted: CronJobStatus['unaccounted'] = [];
  const deadlineSeconds = cronJob.spec.jobTemplate.activeDeadlineSeconds;
  for (const run of runs.filter((r) => r.reason === 'running')) {
    const started = Date.parse(run.startedAt ?? run.receivedAt);
    if (!context.devices.has(run.device)) unaccounted.push({ run, why: 'its device was deleted' });
    else if (deadlineSeconds !== undefined && context.now >= started + deadlineSeconds * 1000 + DEADLINE_GRACE_MS) {
      unaccounted.push({ run, why: `no end reported within activeDeadlineSeconds (${deadlineSeconds}s); the device has not reported since` });
    } else active.push(run);
  }
  return { ...(last ? { lastRun: last } : {}), ...(slots.length > 0 ? { lastScheduleTime: slots.at(-1) as string } : {}), active, unaccounted };
}
