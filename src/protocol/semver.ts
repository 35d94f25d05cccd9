/**
 * Semantic Versioning 2.0.0 for releases and firmware constraints: parse, compare precedence
 * (§11, build metadata ignored) and npm-style ranges limited to what a constraint needs:
 * comparators `=`, `>`, `>=`, `<`, `<=` joined by spaces (all must hold) and `||` (any set).
 * The one copy: the firmware module (signed manifests, downgrade checks) uses it too.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
}

// semver.org's regular expression, without a 'v' prefix.
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER_PATTERN.exec(text);
  if (m === null) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] === undefined ? [] : m[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id)),
  };
}

export function isSemver(text: string): boolean {
  return parseSemver(text) !== undefined;
}

/** Negative if a < b, 0 if equal precedence, positive if a > b. Throws on invalid input. */
export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (x === undefined) throw new TypeError(`not a semantic version: ${JSON.stringify(a)}`);
  if (y === undefined) throw new TypeError(`not a semantic version: ${JSON.stringify(b)}`);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch || comparePrerelease(x.prerelease, y.prerelease);
}

/** §11.3–11.4: a version without pre-release ranks higher; identifiers compare left to right. */
function comparePrerelease(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const p = a[i];
    const q = b[i];
    if (p === q || p === undefined || q === undefined) continue;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    if (typeof p === 'number') return -1;
    if (typeof q === 'number') return 1;
    return p < q ? -1 : 1;
  }
  return a.length - b.length;
}

type Operator = '=' | '>' | '>=' | '<' | '<=';
interface Comparator {
  readonly op: Operator;
  readonly version: string;
}

const COMPARATOR = /^(>=|<=|>|<|=)?\s*(\S+)$/;

/** Parses a range into OR-ed sets of AND-ed comparators, or returns what is wrong with it. */
export function parseVersionRange(range: string): { ok: true; sets: Comparator[][] } | { ok: false; error: string } {
  const sets: Comparator[][] = [];
  for (const alternative of range.split('||')) {
    // ">= 2.0.0" is one comparator: glue an operator to the version after it.
    const tokens = alternative.trim().replace(/(>=|<=|>|<|=)\s+/g, '$1').split(/\s+/).filter((t) => t !== '');
    if (tokens.length === 0) return { ok: false, error: `empty alternative in range "${range}"` };
    const set: Comparator[] = [];
    for (const token of tokens) {
      const m = COMPARATOR.exec(token);
      const version = m?.[2] ?? '';
      if (m === null || parseSemver(version) === undefined) {
        return { ok: false, error: `"${token}" is not a comparator (e.g. >=2.0.0, <3.0.0, =2.1.0)` };
      }
      set.push({ op: (m[1] ?? '=') as Operator, version });
    }
    sets.push(set);
  }
  return { ok: true, sets };
}

/** Does `version` satisfy `range`? An unparsable version or range satisfies nothing. */
export function satisfiesRange(version: string, range: string): boolean {
  const parsed = parseVersionRange(range);
  if (!parsed.ok || parseSemver(version) === undefined) return false;
  return parsed.sets.some((set) => set.every((c) => holds(compareSemver(version, c.version), c.op)));
}

function holds(cmp: number, op: Operator): boolean {
  switch (op) {
    case '=':
      return cmp === 0;
    case '>':
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
  }
}
