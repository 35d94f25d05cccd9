import { secretMatches } from '../../common/ids.js';

/** Checks `Authorization: Bearer <admin token>` against the stored hash. */
export function bearerTokenMatches(header: string | undefined, adminTokenHash: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  return secretMatches(header.slice(7).trim(), adminTokenHash);
}
