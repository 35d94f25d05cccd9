import { createHash } from 'node:crypto';
import { canonicalJson, type ConfigKind, type ConfigMapManifest, type ConfigValues, type SecretManifest } from '../../protocol/index.js';
import { encryptAtRest, type EncryptedValues } from './data-key.js';

/**
 * A stored ConfigMap or Secret. A ConfigMap keeps its values; a Secret only their ciphertext under
 * the hub's data key (data-key.ts), so the store file never holds a Secret's value in clear.
 */
export interface ConfigObjectRecord {
  kind: ConfigKind;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  immutable: boolean;
  /** sha256 of the content (first 16 hex): what devices compare. */
  version: string;
  keys: string[];
  sizes: Record<string, number>;
  /** Keys written as `data` (text), for showing them back as written. */
  textKeys: string[];
  values?: ConfigValues;
  encrypted?: EncryptedValues;
  createdAt: string;
  updatedAt: string;
}

export const configObjectKey = (kind: ConfigKind, name: string): string => `${kind}/${name}`;

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

/** The record to store for a manifest; refuses a content change of an immutable object. */
export function configRecordFor(
  m: ConfigMapManifest | SecretManifest,
  existing: ConfigObjectRecord | undefined,
  now: string,
  dataKey: Buffer,
): { record: ConfigObjectRecord; action: ConfigApplyAction } {
  const values = manifestValues(m);
  const version = contentVersion(m.kind, m.metadata.name, values);
  if (existing?.immutable && existing.version !== version) {
    throw new ConfigApplyError(`${m.kind.toLowerCase()} ${m.metadata.name} is immutable; its content cannot change (delete it and apply again)`);
  }
  const keys = Object.keys(values);
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
