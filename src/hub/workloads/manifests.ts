import { describeIssues, workloadManifestSchema, type WorkloadManifest } from '../../protocol/index.js';
import type { WorkloadRecord } from '../store/records.js';
import { canonicalJson, templateRevision } from './revision.js';

export class ManifestError extends Error {}

/**
 * Validates every document before anything is stored: one bad document stores nothing. Every
 * problem of every document is reported, one document per line.
 */
export function parseManifests(raw: readonly unknown[]): WorkloadManifest[] {
  const manifests: WorkloadManifest[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  raw.forEach((doc, index) => {
    const kind = (doc as { kind?: unknown } | null)?.kind;
    if (kind === 'Job' || kind === 'CronJob') return; // parsed by src/hub/jobs/job-manifests.ts
    if (kind === 'Service') return; // parsed by src/hub/services/service-manifests.ts
    if (kind === 'ConfigMap' || kind === 'Secret') return; // parsed by src/hub/config-objects/config-apply.ts
    if (kind !== 'Workload') {
      problems.push(`document ${index + 1}: kind ${JSON.stringify(kind ?? null)} is not supported (supported: Workload, Job, CronJob, Release, Rollout, MaintenanceWindow, Service, ConfigMap, Secret)`);
      return;
    }
    const parsed = workloadManifestSchema.safeParse(doc);
    if (!parsed.success) {
      problems.push(`document ${index + 1}: ${describeIssues(parsed.error.issues)}`);
      return;
    }
    if (names.has(parsed.data.metadata.name)) problems.push(`document ${index + 1}: workload ${parsed.data.metadata.name} appears twice`);
    names.add(parsed.data.metadata.name);
    manifests.push(parsed.data);
  });
  if (problems.length > 0) throw new ManifestError(problems.join('\n'));
  return manifests;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

/** The record to store for a manifest, and what applying it means relative to what is stored. */
export function recordFor(manifest: WorkloadManifest, existing: WorkloadRecord | undefined, now: string): { record: WorkloadRecord; action: ApplyAction } {
  const record: WorkloadRecord = {
    name: manifest.metadata.name,
    labels: manifest.metadata.labels,
    annotations: manifest.metadata.annotations,
    spec: manifest.spec,
    revision: templateRevision(manifest.spec.template),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  if (!existing) return { record, action: 'created' };
  const same =
    canonicalJson({ l: existing.labels, a: existing.annotations, s: existing.spec }) === canonicalJson({ l: record.labels, a: record.annotations, s: record.spec });
  return same ? { record: existing, action: 'unchanged' } : { record, action: 'configured' };
}
