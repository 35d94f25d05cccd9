import { canonicalJson } from '../../protocol/index.js';

/**
 * canonicalJson with the text of each object remembered: the desired-state pass compares every
 * device's document with the one it last sent, and the same template objects (one per workload
 * in a pass) and stored documents (unchanged between passes) come back again and again.
 * Only for objects that are never changed after they are first serialised.
 */
export class CanonicalCache {
  private readonly texts = new WeakMap<object, string>();

  of(value: unknown): string {
    if (value === null || typeof value !== 'object') return canonicalJson(value);
    const known = this.texts.get(value);
    if (known !== undefined) return known;
    let text: string;
    if (Array.isArray(value)) text = `[${value.map((v: unknown) => this.of(v)).join(',')}]`;
    else {
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${this.of(v)}`).join(',')}}`;
    }
    this.texts.set(value, text);
    return text;
  }
}
