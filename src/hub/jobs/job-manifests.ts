import { createHash, randomBytes } from 'node:crypto';
import { cronJobManifestSchema, describeIssues, jobManifestSchema, type CronJobManifest, type JobManifest } from '../../protocol/index.js';
import type { CronJobRecord, JobRecord } from '../store/job-records.js';
import { eventSubjects } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { ManifestError, type ApplyAction } from '../workloads/manifests.js';
import { canonicalJson } from '../workloads/revision.js';

export type JobKindManifest = JobManifest | CronJobManifest;

/** The Job and CronJob documents of an apply, validated before anything is stored (index as in the request). */
export function parseJobManifests(raw: readonly unknown[]): JobKindManifest[] {
  const out: JobKindManifest[] = [];
  const names = new Set<string>();
  raw.forEach((doc, index) => {
    const kind = (doc as { kind?: unknown } | null)?.kind;
    if (kind !== 'Job' && kind !== 'CronJob') return;
    const parsed = kind === 'Job' ? jobManifestSchema.safeParse(doc) : cronJobManifestSchema.safeParse(doc);
    if (!parsed.success) throw new ManifestError(`document ${index + 1}: ${describeIssues(parsed.error.issues)}`);
    const key = `${kind}/${parsed.data.metadata.name}`;
    if (names.has(key)) throw new ManifestError(`document ${index + 1}: ${kind.toLowerCase()} ${parsed.data.metadata.name} appears twice`);
    names.add(key);
    out.push(parsed.data);
  });
  return out;
}

export function newJobUid(): string {
  return randomBytes(8).toString('hex');
}

/**
 * A Job's spec is fixed once created (as in Kubernetes): only `suspend`, labels and annotations change
 * on apply. Anything else is refused, naming the way out.
 */
export function jobRecordFor(manifest: JobManifest, existing: JobRecord | undefined, now: string, uid = newJobUid()): { record: JobRecord; action: ApplyAction } {
  if (!existing) {
    return {
      record: { name: manifest.metadata.name, uid, labels: manifest.metadata.labels, annotations: manifest.metadata.annotations, spec: manifest.spec, createdAt: now, updatedAt: now, assigned: [] },
      action: 'created',
    };
  }
  const { suspend: _a, ...oldRest } = existing.spec;
  const { suspend: _b, ...newRest } = manifest.spec;
  if (canonicalJson(oldRest) !== canonicalJson(newRest)) {
    throw new ManifestError(`job ${manifest.metadata.name}: a Job's spec cannot change except suspend; delete it first (edgepilot delete job ${manifest.metadata.name})`);
  }
  const record: JobRecord = { ...existing, labels: manifest.metadata.labels, annotations: manifest.metadata.annotations, spec: { ...existing.spec, suspend: manifest.spec.suspend }, updatedAt: now };
  const same = canonicalJson({ l: existing.labels, a: existing.annotations, s: existing.spec.suspend }) === canonicalJson({ l: record.labels, a: record.annotations, s: record.spec.suspend });
  return same ? { record: existing, action: 'unchanged' } : { record, action: 'configured' };
}

export function cronJobRevision(spec: CronJobRecord['spec']): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

export function cronJobRecordFor(manifest: CronJobManifest, existing: CronJobRecord | undefined, now: string): { record: CronJobRecord; action: ApplyAction } {
  const record: CronJobRecord = {
    name: manifest.metadata.name,
    labels: manifest.metadata.labels,
    annotations: manifest.metadata.annotations,
    spec: manifest.spec,
    revision: cronJobRevision(manifest.spec),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  if (!existing) return { record, action: 'created' };
  const same = canonicalJson({ l: existing.labels, a: existing.annotations, s: existing.spec }) === canonicalJson({ l: record.labels, a: record.annotations, s: record.spec });
  return same ? { record: existing, action: 'unchanged' } : { record, action: 'configured' };
}

/**
 * An apply's Jobs and CronJobs: records planned (all validated first); the caller stores `jobs` and
 * `cronJobs` with the rest of the apply in one write (HubStore.applyDocuments), then calls `recordEvents`.
 */
export async function planJobApply(
  manifests: readonly JobKindManifest[],
  store: Pick<HubStore, 'jobs' | 'cronJobs' | 'events'>,
  now: string,
): Promise<{ results: { kind: 'Job' | 'CronJob'; name: string; action: ApplyAction }[]; jobs: JobRecord[]; cronJobs: CronJobRecord[]; recordEvents(): Promise<void> }> {
  const jobs: { record: JobRecord; action: ApplyAction }[] = [];
  const cronJobs: { record: CronJobRecord; action: ApplyAction }[] = [];
  for (const m of manifests) {
    if (m.kind === 'Job') jobs.push(jobRecordFor(m, await store.jobs.get(m.metadata.name), now));
    else cronJobs.push(cronJobRecordFor(m, await store.cronJobs.get(m.metadata.name), now));
  }
  const results = [
    ...jobs.map((p) => ({ kind: 'Job' as const, name: p.record.name, action: p.action })),
    ...cronJobs.map((p) => ({ kind: 'CronJob' as const, name: p.record.name, action: p.action })),
  ];
  return {
    results,
    jobs: jobs.filter((p) => p.action !== 'unchanged').map((p) => p.record),
    cronJobs: cronJobs.filter((p) => p.action !== 'unchanged').map((p) => p.record),
    recordEvents: async () => {
      for (const p of [...jobs.map((x) => ({ ...x, subject: eventSubjects.job(x.record.name) })), ...cronJobs.map((x) => ({ ...x, subject: eventSubjects.cronJob(x.record.name) }))]) {
        if (p.action === 'unchanged') continue;
        const suspended = p.record.spec.suspend ? ' (suspended)' : '';
        await store.events.append(p.subject, { time: now, type: 'Normal', reason: p.action === 'created' ? 'Created' : 'Updated', message: `${p.action}${suspended}` });
      }
    },
  };
}
