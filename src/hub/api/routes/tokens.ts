import type { FastifyInstance } from 'fastify';
import { tokenCreateSchema, validate } from '../../../protocol/index.js';
import type { JoinTokens } from '../../fleet/tokens.js';
import { badRequest, notFound } from '../http-error.js';

export function registerTokenRoutes(app: FastifyInstance, tokens: JoinTokens): void {
  app.post('/v1/tokens', async (request, reply) => {
    const body = validate(tokenCreateSchema, request.body ?? {});
    if (!body.ok) throw badRequest(body.error);
    const created = await tokens.create(body.value);
    return reply.status(201).send(created);
  });

  app.get('/v1/tokens', async () => ({ items: await tokens.list() }));

  app.delete('/v1/tokens/:id', async (request) => {
    const { id } = request.params as { id: string };
    const revoked = await tokens.revoke(id);
    if (!revoked) throw notFound(`join token ${id}`);
    return revoked;
  });
}
