import { canonicalJson, describeIssues, serviceManifestSchema, type ServiceManifest, type ServiceRecord } from '../../protocol/index.js';

/** A Service document that cannot be applied; every problem, one document per line. */
export class ServiceManifestError extends Error {
  readonly code = 'ServiceManifestInvalid';
}

export function isServiceDocument(doc: unknown): boolean {
  return (doc as { kind?: unknown } | null)?.kind === 'Service';
}

/** Validates the apply's Service documents (by their index in the request). */
export function parseServiceManifests(raw: readonly unknown[]): { index: number; manifest: ServiceManifest }[] {
  const out: { index: number; manifest: ServiceManifest }[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  raw.forEach((doc, index) => {
    if (!isServiceDocument(doc)) return;
    const parsed = serviceManifestSchema.safeParse(doc);
    if (!parsed.success) {
      problems.push(`document ${index + 1}: ${describeIssues(parsed.error.issues)}`);
      return;
    }
    if (names.has(parsed.data.metadata.name)) problems.push(`document ${index + 1}: service ${parsed.data.metadata.name} appears twice`);
    names.add(parsed.data.metadata.name);
    out.push({ index, manifest: parsed.data });
  });
  if (problems.length > 0) throw new ServiceManifestError(problems.join('\n'));
  return out;
}

/**
 * The proxy of every using device listens on each service port: two services on one port would
 * fight over it on a device that uses both, so a port belongs to one service fleet-wide.
 */
export function portConflicts(applied: readonly { index: number; manifest: ServiceManifest }[], stored: readonly ServiceRecord[]): string[] {
  const owner = new Map<number, string>();
  const appliedNames = new Set(applied.map((a) => a.manifest.metadata.name));
  for (const s of stored) if (!appliedNames.has(s.name)) for (const p of s.spec.ports) owner.set(p.port, s.name);
  const problems: string[] = [];
  for (const { index, manifest } of applied) {
    manifest.spec.ports.forEach((p, i) => {
      const other = owner.get(p.port);
      if (other !== undefined && other !== manifest.metadata.name) problems.push(`document ${index + 1}: spec.ports[${i}].port: ${p.port} is already the port of service ${other}`);
      else owner.set(p.port, manifest.metadata.name);
    });
  }
  return problems;
}

export function serviceRecordFor(manifest: ServiceManifest, existing: ServiceRecord | undefined, now: string): { record: ServiceRecord; action: 'created' | 'configured' | 'unchanged' } {
  const record: ServiceRecord = {
    name: manifest.metadata.name,
    labels: manifest.metadata.labels,
    annotations: manifest.metadata.annotations,
    spec: manifest.spec,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  if (!existing) return { record, action: 'created' };
  const same = canonicalJson({ l: existing.labels, a: existing.annotations, s: existing.spec }) === canonicalJson({ l: record.labels, a: record.annotations, s: record.spec });
  return same ? { record: existing, action: 'unchanged' } : { record, action: 'configured' };
}
