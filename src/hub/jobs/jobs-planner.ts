import type { Logger } from '../../common/log.js';
import type { DesiredCronJob, DesiredJob, JobRunsMessage } from '../../protocol/index.js';
import { runOwnerKey, type JobRecord, type StoredJobRun } from '../store/job-records.js';
import { eventSubjects, type DeviceEvent, type DeviceRecord } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { assignJobs, desiredJobParts } from './job-placement.js';
import { jobStatus } from './job-status.js';

export type JobParts = Map<string, { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] }>;

/**
 * The hub's Jobs controller, called by the desired-state pass: stores new assignments, marks finished
 * Jobs (and deletes them ttlSecondsAfterFinished later), and returns the jobs part of every device's
 * desired document. Also takes run records from devices: stored durably, then acknowledged.
 */
export class JobsPlanner {
  constructor(
    private readonly deps: {
      store: HubStore;
      now: () => Date;
      /** Publishes the acknowledgement (QoS 1) once records are stored. */
      acknowledge(deviceId: string, ids: string[]): Promise<void>;
      /** Something changed that the desired documents depend on (a Job finished). */
      changed(): void;
      log: Logger;
    },
  ) {}

  async any(): Promise<boolean> {
    return (await this.deps.store.jobs.list()).length > 0 || (await this.deps.store.cronJobs.list()).length > 0;
  }

  /** `store`: what the planner writes through (the controllers' view: fenced by the lease term on a shared store). */
  async plan(devices: readonly DeviceRecord[], store: HubStore = this.deps.store): Promise<JobParts> {
    const now = this.deps.now().getTime();
    let jobs = await store.jobs.list();
    const assignments = assignJobs(jobs, devices, now);
    const changed: JobRecord[] = [];
    // Written once the records they describe are stored: a Job the API changed while this pass
    // ran is skipped below, and the next pass, finding it finished again, must not say so twice.
    const events: { job: string; event: DeviceEvent }[] = [];
    for (const job of jobs) {
      const next = assignments.get(job.name);
      let record = next ? { ...job, assigned: next.assigned, ...(next.unplaced !== undefined ? { unplaced: next.unplaced } : {}) } : job;
      if (next && next.unplaced === undefined) delete record.unplaced;
      if (record.finishedAt === undefined && record.assigned.length > 0) {
        const status = jobStatus(record, await store.jobRuns.list(runOwnerKey('Job', job.name)), now);
        if (status.finished) {
          record = { ...record, finishedAt: new Date(now).toISOString() };
          const failed = status.devices.filter((d) => d.state === 'Failed').map((d) => d.device);
          events.push({
            job: job.name,
            event: {
              time: new Date(now).toISOString(),
              type: failed.length > 0 ? 'Warning' : 'Normal',
              reason: failed.length > 0 ? 'Failed' : 'Completed',
              message: failed.length > 0 ? `completions ${status.completions}; failed on ${failed.join(', ')}` : `completions ${status.completions}`,
            },
          });
        }
      } else if (next?.unplaced !== undefined && next.unplaced !== job.unplaced) {
        events.push({ job: job.name, event: { time: new Date(now).toISOString(), type: 'Warning', reason: 'FailedScheduling', message: next.unplaced } });
      }
      if (record !== job) changed.push(record);
    }
    // Only over what is still as read: the API may have deleted or re-applied a Job meanwhile.
    const skipped = changed.length > 0 ? await store.jobs.replaceUnchanged(changed.map((next) => ({ read: jobs.find((j) => j.name === next.name)!, next }))) : [];
    jobs = jobs.map((j) => (skipped.includes(j.name) ? j : (changed.find((c) => c.name === j.name) ?? j)));
    for (const { job, event } of events) if (!skipped.includes(job)) await store.events.append(eventSubjects.job(job), event);
    for (const job of jobs) {
      const ttl = job.spec.ttlSecondsAfterFinished;
      if (ttl === undefined || job.finishedAt === undefined || now < Date.parse(job.finishedAt) + ttl * 1000) continue;
      if (!(await store.jobs.deleteUnchanged(job))) continue; // changed meanwhile: the next pass looks again
      this.deps.log.info(`job ${job.name}: deleted ${ttl} s after it finished (ttlSecondsAfterFinished)`);
    }
    if (skipped.length > 0) {
      // Changed through the API while this pass ran: plan from what is stored now, and once more soon.
      this.deps.log.info(`jobs ${skipped.join(', ')} changed while the pass ran; planned again`);
      this.deps.changed();
      jobs = await store.jobs.list();
    }
    const kept = jobs.filter((j) => !(j.spec.ttlSecondsAfterFinished !== undefined && j.finishedAt !== undefined && now >= Date.parse(j.finishedAt) + j.spec.ttlSecondsAfterFinished * 1000));
    return desiredJobParts(kept, await store.cronJobs.list(), devices, now);
  }

  /**
   * Run records from a device: stored (sync) before the acknowledgement, so an acked record is never
   * lost. Records of a Job or CronJob that no longer exists (or of an older creation of a Job) are
   * acknowledged but not kept: the agent may stop resending them, and a re-created object starts clean.
   * Records for a Job from a device it was never given are refused the same way (acknowledged, not kept:
   * a confused or forged agent must not complete someone else's Job), with one warning event per device.
   */
  async ingest(deviceId: string, message: JobRunsMessage): Promise<void> {
    const receivedAt = this.deps.now().toISOString();
    const { store } = this.deps;
    const jobs = new Map((await store.jobs.list()).map((j) => [j.name, j]));
    const cronJobs = new Set((await store.cronJobs.list()).map((c) => c.name));
    const refused = new Set<string>();
    const current = message.records.filter((r) => {
      if (r.owner.kind === 'CronJob') return cronJobs.has(r.owner.name);
      const job = jobs.get(r.owner.name);
      if (!job || (r.jobUid !== undefined && job.uid !== r.jobUid)) return false;
      if (job.assigned.includes(deviceId)) return true;
      refused.add(job.name);
      return false;
    });
    const runs: StoredJobRun[] = current.map((r) => ({ ...r, device: deviceId, receivedAt }));
    const added = await this.deps.store.jobRuns.add(runs);
    for (const name of refused) await this.refused(name, deviceId, receivedAt);
    await this.deps.acknowledge(deviceId, message.records.map((r) => r.id));
    if (added > 0 && message.records.some((r) => r.owner.kind === 'Job')) this.deps.changed();
  }

  /** Said once per Job and device (per hub process): a misbehaving agent resending must not flood the events. */
  private readonly refusedBefore = new Set<string>();

  private async refused(job: string, deviceId: string, time: string): Promise<void> {
    const key = `${job}\u0000${deviceId}`;
    if (this.refusedBefore.has(key)) return;
    this.refusedBefore.add(key);
    const message = `run records from device ${deviceId} refused: this Job was never sent to it`;
    this.deps.log.warn(`job ${job}: ${message}`);
    await this.deps.store.events.append(eventSubjects.job(job), { time, type: 'Warning', reason: 'RunRecordsRefused', message });
  }
}
