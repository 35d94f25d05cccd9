import { configObjectKey, releaseKey, type ConfigObjectRecord, type MaintenanceWindowRecord, type ReleaseRecord, type ServiceRecord } from '../../protocol/index.js';
import type { CronJobRecord, JobRecord } from './job-records.js';
import type { Backing } from './lowdb-repositories.js';
import { assertStorable } from './record-check.js';
import type { WorkloadRecord } from './records.js';
import { ReleaseImmutableError } from './repository.js';

/**
 * The documents of one `apply -f`, whatever their kinds: stored in one write of the control document,
 * or not at all. Every record is checked first (storable, releases immutable); only then is the document
 * changed, all of it before the commit is asked for, so one snapshot holds every change: a crash or a
 * refusal can never leave the Workloads of an apply stored without its Jobs, or the reverse.
 */
export interface ApplyBatch {
  workloads?: readonly WorkloadRecord[];
  jobs?: readonly JobRecord[];
  cronJobs?: readonly CronJobRecord[];
  /** New releases only (a stored one with the same digest is not in the batch). */
  releases?: readonly ReleaseRecord[];
  maintenanceWindows?: readonly MaintenanceWindowRecord[];
  services?: readonly ServiceRecord[];
  /** ConfigMaps and Secrets, whole (with the history to keep). */
  configObjects?: readonly ConfigObjectRecord[];
}

export function applyBatchWriter(b: Backing): (batch: ApplyBatch) => Promise<void> {
  return async (batch) => {
    const doc = b.doc();
    for (const w of batch.workloads ?? []) assertStorable('workloads', w.name, w);
    for (const j of batch.jobs ?? []) assertStorable('jobs', j.name, j);
    for (const c of batch.cronJobs ?? []) assertStorable('cronJobs', c.name, c);
    for (const w of batch.maintenanceWindows ?? []) assertStorable('maintenanceWindows', w.name, w);
    for (const s of batch.services ?? []) assertStorable('services', s.name, s);
    for (const o of batch.configObjects ?? []) assertStorable('configObjects', configObjectKey(o.kind, o.name), o);
    for (const r of batch.releases ?? []) {
      const key = releaseKey(r.name, r.spec.version);
      const existing = doc.releases[key];
      if (existing !== undefined && existing.digest !== r.digest) {
        throw new ReleaseImmutableError(`release ${key} exists with other content (digest ${existing.digest}); releases are immutable: create a new version`);
      }
      assertStorable('releases', key, r);
    }
    // Nothing below throws or waits until the commit: the whole batch is in the next snapshot.
    for (const w of batch.workloads ?? []) doc.workloads[w.name] = structuredClone(w);
    for (const j of batch.jobs ?? []) doc.jobs[j.name] = structuredClone(j);
    for (const c of batch.cronJobs ?? []) doc.cronJobs[c.name] = structuredClone(c);
    for (const w of batch.maintenanceWindows ?? []) doc.maintenanceWindows[w.name] = structuredClone(w);
    for (const s of batch.services ?? []) doc.services[s.name] = structuredClone(s);
    for (const o of batch.configObjects ?? []) doc.configObjects[configObjectKey(o.kind, o.name)] = structuredClone(o);
    for (const r of batch.releases ?? []) doc.releases[releaseKey(r.name, r.spec.version)] ??= structuredClone(r);
    await b.persist('sync');
  };
}
