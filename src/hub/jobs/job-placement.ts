import type { CronJobSpec, DesiredCronJob, DesiredJob, JobSpec, WorkloadSpec } from '../../protocol/index.js';
import { placeReplicas, planEveryDevice } from '../../scheduler/index.js';
import { snapshotOf } from '../workloads/placement-pass.js';
import type { DeviceRecord } from '../store/records.js';
import type { CronJobRecord, JobRecord } from '../store/job-records.js';

/**
 * Where Jobs and CronJobs go (pure; `now` is an argument). The scheduler decides, given a Workload-shaped
 * view of each (same selector, tolerations, template, resources):
 * - a `scheduled` Job gets one device (placeReplicas, one replica) and keeps it: its completions, volumes
 *   and retries live there;
 * - an `everyDevice` Job and every CronJob go to each matching device (the DaemonSet rule, which also
 *   reaches offline devices: they find it in their retained desired document when they return). An
 *   `everyDevice` Job keeps the devices it was given, and gains devices that match later until it has
 *   finished or its deadline has passed.
 */

/**
 * Peripherals are left out of the scheduler's view: a Workload's MCU claim is an exclusive allocation the
 * hub makes, but a Job's (or CronJob's) is taken on the device, run by run, through the agent's port lock
 * shared with flashing. Gating placement on an MCU being online and unclaimed would take a CronJob off a
 * device (forgetting its ledger there) while its MCU is being flashed, and hold a Job back that the device
 * would only have queued. The device must still have such an MCU: {@link hasClaimedMcus}.
 */
function workloadView(spec: Pick<JobSpec, 'selector' | 'tolerations' | 'template'>, replicas: WorkloadSpec['replicas']): WorkloadSpec {
  return {
    replicas,
    selector: spec.selector,
    affinity: { required: [], preferred: [] },
    tolerations: spec.tolerations,
    topologySpread: [],
    scoring: 'LeastAllocated',
    offlineGraceSeconds: 300,
    updateStrategy: { maxUnavailable: 1, maxSurge: 0 },
    template: { ...spec.template, peripherals: [] },
  };
}

/** The device lists (online or not) an MCU of every model the template claims. */
export function hasClaimedMcus(template: JobSpec['template'], device: DeviceRecord): boolean {
  const models = new Set((device.facts?.mcus ?? []).map((m) => m.model));
  const anyMcu = (device.facts?.mcus ?? []).length > 0;
  return template.peripherals.every((p) => p.kind !== 'mcu' || (p.mcu === undefined ? anyMcu : models.has(p.mcu)));
}

export function jobDeadline(job: JobRecord): number | undefined {
  return job.spec.activeDeadlineSeconds === undefined ? undefined : Date.parse(job.createdAt) + job.spec.activeDeadlineSeconds * 1000;
}

export interface JobAssignment {
  assigned: string[];
  unplaced?: string;
}

/** New assignments for Jobs that may still gain devices; Jobs not listed keep theirs. */
export function assignJobs(jobs: readonly JobRecord[], devices: readonly DeviceRecord[], now: number): Map<string, JobAssignment> {
  const out = new Map<string, JobAssignment>();
  const all = devices.map((d) => ({ device: d, snapshot: snapshotOf(d) }));
  for (const job of jobs) {
    const snapshots = all.filter((x) => hasClaimedMcus(job.spec.template, x.device)).map((x) => x.snapshot);
    if (job.spec.suspend || job.finishedAt !== undefined) continue;
    const deadline = jobDeadline(job);
    if (deadline !== undefined && now >= deadline) continue;
    if (job.spec.placement === 'everyDevice') {
      const plan = planEveryDevice(snapshots, `job/${job.name}`, workloadView(job.spec, 'all'), { now });
      const assigned = [...new Set([...job.assigned, ...plan.placements.map((p) => p.deviceId)])].sort();
      if (assigned.length !== job.assigned.length) out.set(job.name, { assigned });
      continue;
    }
    if (job.assigned.length > 0) continue;
    const result = placeReplicas(snapshots, { name: `job/${job.name}`, spec: workloadView(job.spec, 1), replicas: 1 }, { now });
    const device = result.placements[0]?.deviceId;
    if (device !== undefined) out.set(job.name, { assigned: [device] });
    else {
      const unplaced = result.unplaced?.summary ?? 'no device fits';
      if (unplaced !== job.unplaced) out.set(job.name, { assigned: [], unplaced });
    }
  }
  return out;
}

/** Devices that run a CronJob: every matching device (its desired document carries the schedule). */
export function cronJobDevices(cronJob: CronJobRecord, devices: readonly DeviceRecord[], now: number): string[] {
  const fit = devices.filter((d) => hasClaimedMcus(cronJob.spec.jobTemplate.template, d));
  const plan = planEveryDevice(fit.map((d) => snapshotOf(d)), `cronjob/${cronJob.name}`, workloadView({ ...cronJob.spec, template: cronJob.spec.jobTemplate.template }, 'all'), { now });
  return plan.placements.map((p) => p.deviceId);
}

export function desiredJob(job: JobRecord): DesiredJob {
  const { suspend: _s, placement: _p, selector: _sel, tolerations: _t, ...run } = job.spec;
  const deadline = jobDeadline(job);
  return { name: job.name, uid: job.uid, ...(deadline !== undefined ? { deadlineAt: new Date(deadline).toISOString() } : {}), spec: run };
}

export function desiredCronJob(cronJob: CronJobRecord): DesiredCronJob {
  const { selector: _sel, tolerations: _t, ...run }: CronJobSpec = cronJob.spec;
  return { name: cronJob.name, revision: cronJob.revision, spec: run };
}

/**
 * The jobs part of every device's desired document. Suspended Jobs and CronJobs are sent marked so: the
 * agent stops running (or scheduling) them but keeps their progress (or ledger) to resume from.
 */
export function desiredJobParts(
  jobs: readonly JobRecord[],
  cronJobs: readonly CronJobRecord[],
  devices: readonly DeviceRecord[],
  now: number,
): Map<string, { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] }> {
  const out = new Map(devices.map((d) => [d.id, { jobs: [] as DesiredJob[], cronJobs: [] as DesiredCronJob[] }]));
  for (const job of [...jobs].sort((a, b) => a.name.localeCompare(b.name))) {
    const sent = job.spec.suspend ? { ...desiredJob(job), suspend: true } : desiredJob(job);
    for (const id of job.assigned) out.get(id)?.jobs.push(sent);
  }
  for (const cronJob of [...cronJobs].sort((a, b) => a.name.localeCompare(b.name))) {
    const sent = desiredCronJob(cronJob);
    for (const id of cronJobDevices(cronJob, devices, now)) out.get(id)?.cronJobs.push(sent);
  }
  return out;
}
