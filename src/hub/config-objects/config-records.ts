import { createHash } from 'node:crypto';
import { canonicalJson, CONFIG_HISTORY_LIMIT, type ConfigKind, type ConfigMapManifest, type ConfigObjectRecord, type ConfigObjectVersion, type ConfigValues, type SecretManifest } from '../../protocol/index.js';
import { encryptAtRest } from './data-key.js';

/**
 * A stored ConfigMap or Secret (protocol: configObjectRecordSchema). A ConfigMap keeps its values; a
 * Secret only their ciphertext under the hub's data key (data-key.ts), so the store never holds a
 * Secret's value in clear. Earlier versions are kept in `history` (newest first) for release pins.
 */
export type { ConfigObjectRecord, ConfigObjectVersion } from '../../protocol/index.js';
export { configObjectKey } from '../../protocol/index.js';

/** Every value as base64 bytes, keys sorted. */
export function manifestValues(m: ConfigMapManifest | SecretManifest): ConfigValues {
  const values: ConfigValues = {};
  for (const [k, v] of Object.entries(m.data)) values[k] = Buffer.from(v, 'utf8').toString('base64');
  for (const [k, v] of Object.entries(m.binaryData)) values[k] = v;
  return Object.fromEntries(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function contentVersion(kind: ConfigKind, name: string, values: ConfigValues): string {
  return createHash('sha256').update(canonicalJson({ kind, name, values })).digest('hex').slice(0, 16);
}

export class ConfigApplyError extends Error {
  readonly code = 'config-immutable';
}

export type ConfigApplyAction = 'created' | 'configured' | 'unchanged';

/** An object's content as one version of its history. */
function asVersion(record: ConfigObjectRecord): ConfigObjectVersion {
  return {
    version: record.version,
    keys: record.keys,
    sizes: record.sizes,
    textKeys: record.textKeys,
    ...(record.values !== undefined ? { values: record.values } : {}),
    ...(record.encrypted !== undefined ? { encrypted: record.encrypted } : {}),
    storedAt: record.updatedAt,
  };
}

/**
 * The earlier versions to keep, newest first: the last CONFIG_HISTORY_LIMIT, and any older one a
 * release pins (a device of that release must still get it). `current` is never in it.
 */
export function keptHistory(history: readonly ConfigObjectVersion[], current: string, pinned: ReadonlySet<string>): ConfigObjectVersion[] {
  const seen = new Set<string>([current]);
  const kept: ConfigObjectVersion[] = [];
  for (const v of history) {
    if (seen.has(v.version)) continue;
    seen.add(v.version);
    if (kept.length < CONFIG_HISTORY_LIMIT || pinned.has(v.version)) kept.push(v);
  }
  return kept;
}

/** The content of `version` of a stored object (its newest or one of its history), if it is kept. */
export function versionOf(record: ConfigObjectRecord, version: string): ConfigObjectRecord | undefined {
  if (record.version === version) return record;
  const old = record.history?.find((v) => v.version === version);
  if (!old) return undefined;
  const { values: _v, encrypted: _e, history: _h, ...rest } = record;
  const { storedAt: _s, ...content } = old;
  return { ...rest, ...content };
}

/**
 * The record to store for a manifest; refuses a content change of an immutable object. A new
 * content moves the current one into the history (`pinned`: versions releases pin, kept beyond the limit).
 */
export function configRecordFor(
  m: ConfigMapManifest | SecretManifest,
  existing: ConfigObjectRecord | undefined,
  now: string,
  dataKey: Buffer,
  pinned: ReadonlySet<string> = new Set(),
): { record: ConfigObjectRecord; action: ConfigApplyAction } {
  const values = manifestValues(m);
  const version = contentVersion(m.kind, m.metadata.name, values);
  if (existing?.immutable && existing.version !== version) {
    throw new ConfigApplyError(`${m.kind.toLowerCase()} ${m.metadata.name} is immutable; its content cannot change (delete it and apply again)`);
  }
  const keys = Object.keys(values);
  const earlier = existing === undefined ? [] : existing.version === version ? (existing.history ?? []) : [asVersion(existing), ...(existing.history ?? [])];
  const history = keptHistory(earlier, version, pinned);
  const record: ConfigObjectRecord = {
    kind: m.kind,
    name: m.metadata.name,
    labels: m.metadata.labels,
    annotations: m.metadata.annotations,
    immutable: existing?.immutable === true || m.immutable,
    version,
    keys,
    sizes: Object.fromEntries(keys.map((k) => [k, Buffer.from(values[k] ?? '', 'base64').length])),
    textKeys: Object.keys(m.data).sort(),
    ...(m.kind === 'Secret' ? { encrypted: encryptAtRest(dataKey, m.metadata.name, Buffer.from(JSON.stringify(values))) } : { values }),
    ...(history.length > 0 ? { history } : {}),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  if (!existing) return { record, action: 'created' };
  const same =
    existing.version === version &&
    existing.immutable === record.immutable &&
    canonicalJson({ l: existing.labels, a: existing.annotations }) === canonicalJson({ l: record.labels, a: record.annotations });
  return same ? { record: existing, action: 'unchanged' } : { record, action: 'configured' };
}
