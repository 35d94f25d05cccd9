import type { FastifyRequest } from 'fastify';
import { secretMatches } from '../../common/ids.js';
import { callerOf } from './roles/access-control.js';

/** Checks `Authorization: Bearer <admin token>` against the stored hash. */
export function bearerTokenMatches(header: string | undefined, adminTokenHash: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  return secretMatches(header.slice(7).trim(), adminTokenHash);
}

/** Whether the request was made by an admin (its token's role; every admin-only decision goes through here). */
export function isAdmin(request: FastifyRequest): boolean {
  return callerOf(request)?.role === 'admin';
}
