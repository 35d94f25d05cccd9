import type { FastifyInstance } from 'fastify';
import { auditQuerySchema } from '../../../protocol/index.js';
import type { AuditTrail } from '../audit/audit-log.js';
import { checked } from '../params.js';

/** `GET /v1/audit?who=&since=&limit=`: the newest matching writes, oldest first. */
export function registerAuditRoutes(app: FastifyInstance, audit: Pick<AuditTrail, 'read'>): void {
  app.get('/v1/audit', async (request) => ({ items: await audit.read(checked(auditQuerySchema, request.query ?? {}, 'query')) }));
}
