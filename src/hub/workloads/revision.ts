import { createHash } from 'node:crypto';
import type { Template } from '../../protocol/index.js';

/** JSON with sorted keys, so equal values hash equally whatever order they were written in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The revision of a template: equal templates, equal revision, nothing for a device to do. */
export function templateRevision(template: Template): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, 16);
}
