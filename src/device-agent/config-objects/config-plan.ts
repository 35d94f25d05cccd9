import { createHash } from 'node:crypto';
import type { ConfigKind, ConfigValues, Template, VolumeMount } from '../../protocol/index.js';
import { ConfigUnavailableError } from './config-values.js';

/**
 * Pure: which files a template's ConfigMap and Secret volumes hold, and which variables its
 * envFrom and valueFrom give, from the values of the objects it references.
 */
export type ValuesLookup = (kind: ConfigKind, name: string) => { version: string; values: ConfigValues };

export interface VolumeFiles {
  volume: string;
  kind: ConfigKind;
  mountPath: string;
  files: { name: string; base64: string; mode: number }[];
}

export function configVolumes(template: Template): VolumeMount[] {
  return template.volumes.filter((v) => v.configMap !== undefined || v.secret !== undefined);
}

export function usesConfigs(template: Template): boolean {
  return configVolumes(template).length > 0 || (template.envFrom?.length ?? 0) > 0 || Object.keys(template.valueFrom ?? {}).length > 0;
}

export function volumeFiles(template: Template, lookup: ValuesLookup): VolumeFiles[] {
  return configVolumes(template).map((v) => {
    const kind: ConfigKind = v.secret !== undefined ? 'Secret' : 'ConfigMap';
    const { values } = lookup(kind, v.secret ?? v.configMap ?? '');
    const mode = v.mode ?? (kind === 'Secret' ? 0o600 : 0o644);
    const items = v.items ?? Object.keys(values).map((key) => ({ key, path: undefined }));
    const files = items.map((item) => {
      const base64 = values[item.key];
      if (base64 === undefined) throw new ConfigUnavailableError('missing-key', `${kind.toLowerCase()} ${v.secret ?? v.configMap ?? ''} has no key ${item.key} (volume ${v.name})`);
      return { name: item.path ?? item.key, base64, mode };
    });
    return { volume: v.name, kind, mountPath: v.mountPath, files };
  });
}

/** A hash of what the files should hold: equal hashes, nothing to write. */
export function filesHash(files: readonly VolumeFiles[]): string {
  const h = createHash('sha256');
  for (const v of files) for (const f of v.files) h.update(`${v.volume}\n${f.name}\n${f.mode}\n${f.base64}\n`);
  return h.digest('hex').slice(0, 16);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment from envFrom, then the template's own env, then valueFrom (later wins, as in
 * Kubernetes where env overrides envFrom). Keys that are not variable names are skipped and named.
 */
export function configEnv(template: Template, lookup: ValuesLookup): { env: Record<string, string>; skipped: string[]; fromSecret: Set<string> } {
  const env: Record<string, string> = {};
  const skipped: string[] = [];
  const fromSecret = new Set<string>();
  for (const from of template.envFrom ?? []) {
    const kind: ConfigKind = from.secret !== undefined ? 'Secret' : 'ConfigMap';
    const { values } = lookup(kind, from.secret ?? from.configMap ?? '');
    for (const [key, base64] of Object.entries(values)) {
      const name = `${from.prefix ?? ''}${key}`;
      if (!ENV_NAME.test(name)) {
        skipped.push(name);
        continue;
      }
      env[name] = Buffer.from(base64, 'base64').toString('utf8');
      if (kind === 'Secret') fromSecret.add(name);
    }
  }
  Object.assign(env, template.env);
  for (const name of Object.keys(template.env)) fromSecret.delete(name);
  for (const [name, ref] of Object.entries(template.valueFrom ?? {})) {
    const kind: ConfigKind = ref.secret !== undefined ? 'Secret' : 'ConfigMap';
    const object = ref.secret ?? ref.configMap ?? '';
    const base64 = lookup(kind, object).values[ref.key];
    if (base64 === undefined) throw new ConfigUnavailableError('missing-key', `${kind.toLowerCase()} ${object} has no key ${ref.key} (for ${name})`);
    env[name] = Buffer.from(base64, 'base64').toString('utf8');
    if (kind === 'Secret') fromSecret.add(name);
  }
  return { env, skipped, fromSecret };
}
