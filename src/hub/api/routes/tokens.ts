import type { FastifyInstance } from 'fastify';
import { tokenCreateSchema } from '../../../protocol/index.js';
import type { JoinTokens } from '../../fleet/tokens.js';
import { notFound } from '../http-error.js';
import { checked, pathParam } from '../params.js';

export function registerTokenRoutes(app: FastifyInstance, tokens: JoinTokens): void {
  app.post('/v1/tokens', async (request, reply) => {
    const body = checked(tokenCreateSchema, request.body ?? {}, 'body');
    const created = await tokens.create(body);
    return reply.status(201).send(created);
  });

  app.get('/v1/tokens', async () => ({ items: await tokens.list() }));

  app.delete('/v1/tokens/:id', async (request) => {
    const id = pathParam(request.params, 'tokenId', 'id');
    const revoked = await tokens.revoke(id);
    if (!revoked) throw notFound(`join token ${id}`);
    return revoked;
  });
}
