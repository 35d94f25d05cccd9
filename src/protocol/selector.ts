import type { LabelSelector, SelectorRequirement } from './schemas/placement.js';
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN } from './schemas/common.js';

/**
 * The `-l` / `?selector=` syntax of kubectl: `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`, joined by commas (all must hold).
 */
export function parseSelector(text: string): { ok: true; selector: LabelSelector } | { ok: false; error: string } {
  const selector: LabelSelector = { matchLabels: {}, matchExpressions: [] };
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, selector };
  for (const clause of splitClauses(trimmed)) {
    const part = clause.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
      const req: SelectorRequirement = { key: m[1] ?? '', operator: m[2] === 'in' ? 'In' : 'NotIn', values };
      const bad = checkRequirement(req);
      if (bad) return { ok: false, error: bad };
      selector.matchExpressions.push(req);
    } else if ((m = /^([^=!\s]+)\s*(!=|==|=)\s*(\S*)$/.exec(part))) {
      const key = m[1] ?? '';
      const value = m[3] ?? '';
      const req: SelectorRequirement = { key, operator: m[2] === '!=' ? 'NotIn' : 'In', values: [value] };
      const bad = checkRequirement(req);
      if (bad) return { ok: false, error: bad };
      if (m[2] === '!=') selector.matchExpressions.push(req);
      else selector.matchLabels[key] = value;
    } else if ((m = /^(!?)([^=!\s()]+)$/.exec(part))) {
      const req: SelectorRequirement = { key: m[2] ?? '', operator: m[1] === '!' ? 'DoesNotExist' : 'Exists', values: [] };
      const bad = checkRequirement(req);
      if (bad) return { ok: false, error: bad };
      selector.matchExpressions.push(req);
    } else {
      return { ok: false, error: `cannot parse selector clause "${part}" (expected k=v, k!=v, k, !k, k in (a,b))` };
    }
  }
  return { ok: true, selector };
}

function splitClauses(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out;
}

function checkRequirement(req: SelectorRequirement): string | undefined {
  if (!LABEL_KEY_PATTERN.test(req.key)) return `invalid label key "${req.key}"`;
  const badValue = req.values.find((v) => !LABEL_VALUE_PATTERN.test(v));
  return badValue === undefined ? undefined : `invalid label value "${badValue}"`;
}

/** Does a label set satisfy one requirement (Kubernetes semantics: NotIn and DoesNotExist hold for a missing key). */
export function requirementMatches(labels: Readonly<Record<string, string>>, req: SelectorRequirement): boolean {
  // Own keys only: a label key like `constructor` or `toString` must not find Object.prototype's.
  const value = Object.hasOwn(labels, req.key) ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'In':
      return value !== undefined && req.values.includes(value);
    case 'NotIn':
      return value === undefined || !req.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const bound = Number(req.values[0]);
      return req.operator === 'Gt' ? Number(value) > bound : Number(value) < bound;
    }
  }
}

export function selectorMatches(labels: Readonly<Record<string, string>>, selector: LabelSelector): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  return selector.matchExpressions.every((req) => requirementMatches(labels, req));
}

/** Renders a selector back to the kubectl syntax, for messages. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions) {
    if (r.operator === 'Exists') parts.push(r.key);
    else if (r.operator === 'DoesNotExist') parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator.toLowerCase()} (${r.values.join(',')})`);
  }
  return parts.join(',');
}
