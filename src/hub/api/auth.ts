import { secretMatches } from '../../common/ids.js';

/** Checks `Authorization: Bearer <admin token>` against the stored hash. */
export function bearerTokenMatches(header: string | undefined, adminTokenHash: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  return secretMatches(header.slice(7).trim(), adminTokenHash);
}

/**
 * Whether the request was made by an admin. Today every authenticated API request carries the admin
 * token (server.ts refuses others), so this is true behind the auth hook; roles (engineer R's work)
 * replace its body, and every admin-only decision goes through this one function.
 */
export function isAdmin(request: { headers: { authorization?: string | undefined } }, adminTokenHash: string): boolean {
  return bearerTokenMatches(request.headers.authorization, adminTokenHash);
}
