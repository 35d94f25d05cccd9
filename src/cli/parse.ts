import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN } from '../protocol/index.js';
import { CliError } from './errors.js';

/** `90s`, `30m`, `24h`, `7d`, or combinations like `1h30m` → seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!/^(\d+[smhd])+$/.test(trimmed)) throw new CliError(`"${text}" is not a duration (e.g. 30m, 24h, 7d)`);
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const [, amount, u] of trimmed.matchAll(/(\d+)([smhd])/g)) total += Number(amount) * (unit[u ?? 's'] ?? 1);
  return total;
}

/** `k=v,k2=v2` (token labels) or separate `k=v` words (label command). */
export function parseLabelAssignments(words: readonly string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const word of words.flatMap((w) => w.split(',')).filter((w) => w !== '')) {
    if (word.endsWith('-') && !word.includes('=')) {
      const key = word.slice(0, -1);
      if (!LABEL_KEY_PATTERN.test(key)) throw new CliError(`invalid label key "${key}"`);
      remove.push(key);
      continue;
    }
    const eq = word.indexOf('=');
    if (eq <= 0) throw new CliError(`"${word}" is not k=v or k-`);
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (!LABEL_KEY_PATTERN.test(key)) throw new CliError(`invalid label key "${key}"`);
    if (!LABEL_VALUE_PATTERN.test(value)) throw new CliError(`invalid label value "${value}" for ${key} (letters, digits, - _ . ; at most 63)`);
    set[key] = value;
  }
  return { set, remove };
}

export function parsePositiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${what} must be a positive integer, not "${text}"`);
  return n;
}
