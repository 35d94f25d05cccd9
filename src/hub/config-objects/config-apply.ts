import { configMapManifestSchema, describeIssues, secretManifestSchema, type ConfigMapManifest, type SecretManifest } from '../../protocol/index.js';
import type { ConfigObjects } from './config-objects.js';
import { ConfigApplyError, configRecordFor, type ConfigApplyAction, type ConfigObjectRecord } from './config-records.js';

export const isConfigObjectDocument = (doc: unknown): boolean => {
  const kind = (doc as { kind?: unknown } | null)?.kind;
  return kind === 'ConfigMap' || kind === 'Secret';
};

export interface PlannedConfigApply {
  problems: string[];
  records: ConfigObjectRecord[];
  results: { kind: string; name: string; action: ConfigApplyAction }[];
}

/**
 * The ConfigMap and Secret documents of an apply (`index` as in the request): validated and turned
 * into records before anything is stored; an immutable object whose content changed is refused.
 */
export function planConfigApply(docs: readonly { index: number; doc: unknown }[], objects: ConfigObjects, now: string): PlannedConfigApply {
  const planned: PlannedConfigApply = { problems: [], records: [], results: [] };
  const seen = new Set<string>();
  for (const { index, doc } of docs) {
    const kind = (doc as { kind?: unknown }).kind;
    const parsed = kind === 'Secret' ? secretManifestSchema.safeParse(doc) : configMapManifestSchema.safeParse(doc);
    if (!parsed.success) {
      planned.problems.push(`document ${index + 1}: ${describeIssues(parsed.error.issues)}`);
      continue;
    }
    const m: ConfigMapManifest | SecretManifest = parsed.data;
    const key = `${m.kind}/${m.metadata.name}`;
    if (seen.has(key)) planned.problems.push(`document ${index + 1}: ${m.kind.toLowerCase()} ${m.metadata.name} appears twice`);
    seen.add(key);
    try {
      const { record, action } = configRecordFor(m, objects.store.get(m.kind, m.metadata.name), now, objects.dataKey);
      planned.results.push({ kind: m.kind, name: m.metadata.name, action });
      if (action !== 'unchanged') planned.records.push(record);
    } catch (err) {
      if (!(err instanceof ConfigApplyError)) throw err;
      planned.problems.push(`document ${index + 1}: ${err.message}`);
    }
  }
  return planned;
}
