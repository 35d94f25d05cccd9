import { configMapManifestSchema, describeIssues, secretManifestSchema, type ConfigMapManifest, type ReleaseRecord, type SecretManifest } from '../../protocol/index.js';
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
 * into records before anything is stored (in the apply's one write); an immutable object whose
 * content changed is refused.
 */
export async function planConfigApply(
  docs: readonly { index: number; doc: unknown }[],
  objects: ConfigObjects,
  now: string,
  /** Versions of each object (`ConfigMap/<name>`) that releases pin: kept in its history whatever its length. */
  pinned: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<PlannedConfigApply> {
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
      const { record, action } = configRecordFor(m, await objects.store.get(m.kind, m.metadata.name), now, objects.dataKey, pinned.get(key));
      planned.results.push({ kind: m.kind, name: m.metadata.name, action });
      if (action !== 'unchanged') planned.records.push(record);
    } catch (err) {
      if (!(err instanceof ConfigApplyError)) throw err;
      planned.problems.push(`document ${index + 1}: ${err.message}`);
    }
  }
  return planned;
}

/** Every version of each ConfigMap and Secret that a release pins (`ConfigMap/<name>` → versions). */
export function pinnedConfigVersions(releases: readonly ReleaseRecord[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of releases) {
    for (const pin of r.spec.configs ?? []) {
      const key = `${pin.kind}/${pin.name}`;
      const set = out.get(key) ?? new Set<string>();
      set.add(pin.version);
      out.set(key, set);
    }
  }
  return out;
}

/**
 * Pins of new releases that name a version no one could deliver: neither stored (newest or kept)
 * nor made by this same apply. Checked before the apply's write.
 */
export function unknownConfigPins(releases: readonly ReleaseRecord[], stored: readonly ConfigObjectRecord[], planned: readonly ConfigObjectRecord[]): string[] {
  const known = new Set<string>();
  for (const o of [...stored, ...planned]) {
    known.add(`${o.kind}/${o.name}@${o.version}`);
    for (const v of o.history ?? []) known.add(`${o.kind}/${o.name}@${v.version}`);
  }
  const problems: string[] = [];
  for (const r of releases) {
    for (const pin of r.spec.configs ?? []) {
      if (!known.has(`${pin.kind}/${pin.name}@${pin.version}`)) {
        problems.push(`release ${r.name}@${r.spec.version}: spec.configs pins ${pin.kind.toLowerCase()} ${pin.name} version ${pin.version}, which this hub does not have (see: edgepilot describe ${pin.kind.toLowerCase()} ${pin.name})`);
      }
    }
  }
  return problems;
}
