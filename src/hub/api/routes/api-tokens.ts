import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { apiTokenCreateSchema, nameSchema } from '../../../protocol/index.js';
import { ApiTokenError, type ApiTokens } from '../roles/api-tokens.js';
import { callerOf } from '../roles/access-control.js';
import { HttpError } from '../http-error.js';
import { checked } from '../params.js';

const nameParam = z.object({ name: nameSchema });

function toHttp(err: unknown): unknown {
  if (!(err instanceof ApiTokenError)) return err;
  switch (err.code) {
    case 'unknown':
      return new HttpError(404, 'NotFound', err.message);
    case 'exists':
    case 'already-revoked':
      return new HttpError(409, 'Conflict', err.message);
    case 'reserved':
      return new HttpError(400, 'BadRequest', err.message);
  }
}

/** People's named API tokens (admin only, see roles/policy.ts): created, listed, revoked. */
export function registerApiTokenRoutes(app: FastifyInstance, tokens: ApiTokens): void {
  app.post('/v1/api-tokens', async (request, reply) => {
    const body = checked(apiTokenCreateSchema, request.body ?? {}, 'body');
    const created = await tokens.create(body, callerOf(request)?.name ?? 'admin').catch((err: unknown) => {
      throw toHttp(err);
    });
    return reply.status(201).send(created);
  });

  app.get('/v1/api-tokens', async () => ({ items: tokens.list() }));

  app.delete('/v1/api-tokens/:name', async (request) => {
    const { name } = checked(nameParam, request.params, 'API token name');
    return tokens.revoke(name).catch((err: unknown) => {
      throw toHttp(err);
    });
  });
}
