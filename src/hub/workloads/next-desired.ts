// Whether a device needs a new desired document, and that document: the decision the desired
// pass makes for every device it looks at (most change nothing). Kept apart from the controller
// that schedules passes and publishes; its state is the pass's caches, handed in.
import type { Logger } from '../../common/log.js';
import { payloadLimits, type DesiredConfig, type DesiredCronJob, type DesiredInstance, type DesiredJob, type DesiredState, type MaintenanceWindow } from '../../protocol/index.js';
import type { CanonicalCache } from './canonical-cache.js';
import { sameInstances } from './desired-comparison.js';
import type { WantedDocuments } from './wanted-documents.js';

export interface NextDesiredContext {
  /** Texts of stored documents (unchanged between passes) and of this pass's templates. */
  canonical: CanonicalCache;
  /** Documents found equal to their wanted list before (both objects unchanged since). */
  documents: WantedDocuments;
  now: () => Date;
  log: Logger;
}

/** What a device should have: its instances and whatever else its document carries. */
export interface DesiredParts {
  instances: DesiredInstance[];
  jobParts?: { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] } | undefined;
  windows?: MaintenanceWindow[] | undefined;
  prefetch?: DesiredInstance[] | undefined;
  prefetchFirmware?: string[] | undefined;
  configs?: DesiredConfig[] | undefined;
}

/** The next desired document of a device whose instances, jobs, cron jobs or windows changed, or undefined. */
export function nextDesired(ctx: NextDesiredContext, deviceId: string, parts: DesiredParts, current: Readonly<DesiredState> | undefined): DesiredState | undefined {
  const { instances, jobParts, windows = [], prefetch = [], prefetchFirmware = [], configs = [] } = parts;
  // The common case at fleet scale, without an allocation: a device with only instances, unchanged.
  if (current && !jobParts?.jobs.length && !jobParts?.cronJobs.length && windows.length === 0 && prefetch.length === 0 && prefetchFirmware.length === 0 && configs.length === 0) {
    const bare = !current.jobs?.length && !current.cronJobs?.length && !current.maintenanceWindows?.length && !current.prefetch?.length && !current.prefetchFirmware?.length && !current.configs?.length;
    // Found equal before (both objects unchanged since): not compared again.
    if (bare && ctx.documents.agrees(current, instances)) return undefined;
    if (bare && sameInstances(current.instances, instances)) {
      ctx.documents.agree(current, instances);
      return undefined;
    }
  }
  // Absent and empty lists are the same: documents stay as they were for devices without jobs or windows.
  const jobs = jobParts?.jobs.length ? { jobs: jobParts.jobs } : {};
  const cronJobs = jobParts?.cronJobs.length ? { cronJobs: jobParts.cronJobs } : {};
  const maintenanceWindows = windows.length > 0 ? { maintenanceWindows: windows } : {};
  const prefetched = { ...(prefetch.length > 0 ? { prefetch } : {}), ...(prefetchFirmware.length > 0 ? { prefetchFirmware } : {}) };
  const text = (value: unknown): string => ctx.canonical.of(value);
  // Most devices have no jobs, cron jobs or windows: two empty lists are equal without a look.
  const sameList = (a: readonly unknown[] = [], b: readonly unknown[] = []): boolean => (a.length === 0 && b.length === 0) || text(a) === text(b);
  const same = (d: Readonly<DesiredState>): boolean =>
    sameInstances(d.instances, instances) &&
    sameList(d.jobs, jobs.jobs) &&
    sameList(d.cronJobs, cronJobs.cronJobs) &&
    sameList(d.maintenanceWindows, windows) &&
    sameList(d.prefetch, prefetch) &&
    sameList(d.prefetchFirmware, prefetchFirmware) &&
    sameList(d.configs, configs);
  if (current && same(current)) return undefined;
  if (!current && instances.length === 0 && !jobs.jobs && !cronJobs.cronJobs && prefetchFirmware.length === 0) return undefined;
  const desired: DesiredState = { generation: (current?.generation ?? 0) + 1, issuedAt: ctx.now().toISOString(), instances, ...jobs, ...cronJobs, ...maintenanceWindows, ...prefetched, ...(configs.length > 0 ? { configs } : {}) };
  const size = Buffer.byteLength(JSON.stringify(desired));
  if (size > payloadLimits.desired) {
    ctx.log.error(`desired state for ${deviceId} is ${size} bytes, over the ${payloadLimits.desired} limit; not sent`);
    return undefined;
  }
  return desired;
}
