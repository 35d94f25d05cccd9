/**
 * The part of Semantic Versioning 2.0.0 that a firmware update needs: parse and
 * compare precedence (§11), build metadata ignored. Written here because the
 * firmware module takes no npm dependencies beyond serialport.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
  readonly build: readonly string[];
}

// The official regular expression from semver.org, without the 'v' prefix.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  if (m === null) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] === undefined ? [] : m[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id)),
    build: m[5] === undefined ? [] : m[5].split('.'),
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
    if (typeof p === 'number') return -1; // numeric identifiers rank below alphanumeric ones
    if (typeof q === 'number') return 1;
    return p < q ? -1 : 1;
  }
  return a.length - b.length;
}
