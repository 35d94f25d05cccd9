import type { KeyScope } from '../workload.js';
import { matchesAllAt } from '../label-index.js';

/** False when this key alone rules the device out (see KeyScope). */
export function keyScopeAllows(scope: KeyScope, device: number): boolean {
  if (!matchesAllAt(scope.selector, device)) return false;
  if (scope.terms === undefined) return true;
  for (const term of scope.terms) if (matchesAllAt(term, device)) return true;
  return false;
}
