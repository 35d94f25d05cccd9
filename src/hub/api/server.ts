import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../../common/log.js';
import { HttpError } from './http-error.js';
import { FencedOutError, StoreBusyError, StoreUnavailableError } from '../store/postgres/errors.js';
import type { AuditTrail } from './audit/audit-log.js';
import { installAccessControl, type FailedLoginBudget } from './roles/access-control.js';
import type { ApiTokens } from './roles/api-tokens.js';
import { errorMessage, errorStack } from '../../common/errors.js';

export interface ApiServerOptions {
  host: string;
  port: number;
  adminTokenHash: string;
  log: Logger;
  /** Routes that need no token (bootstrap for agents, health for supervisors). */
  publicPaths: readonly string[];
  /** People's named tokens with roles (the admin token is always accepted as admin). */
  apiTokens?: ApiTokens;
  /** Where every write through the API is recorded before it is answered. */
  audit?: AuditTrail;
  /** Failed logins per source address (absent: not limited). */
  failedAuth?: FailedLoginBudget;
  now?: () => Date;
  /** Serve https with this certificate and key (PEM); plain http only without it (--insecure). */
  tls?: { cert: string; key: string };
}

/** The hub's HTTP API for the CLI: JSON, bearer-token auth with roles, errors as `{error, message}`. */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  // Path parameters longer than the router's default 100 characters would answer "no route";
  // up to this length they reach the routes, whose checks name the parameter in a 400.
  const app = Fastify({
    logger: false,
    bodyLimit: 4 * 1024 * 1024,
    routerOptions: { maxParamLength: 2048 },
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;

  // Who is calling, may their role call this route, and the audit record of every write.
  installAccessControl(app, {
    adminTokenHash: options.adminTokenHash,
    publicPaths: options.publicPaths,
    ...(options.apiTokens ? { apiTokens: options.apiTokens } : {}),
    ...(options.failedAuth ? { failedAuth: options.failedAuth } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
    now: options.now ?? ((): Date => new Date()),
    log: options.log,
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof HttpError) {
      return reply.status(error.statusCode).send({ error: error.code, message: error.message });
    }
    // The shared store is down or busy, or this hub lost the leader lease mid-write: nothing was stored; retry.
    if (error instanceof StoreUnavailableError || error instanceof StoreBusyError || error instanceof FencedOutError) {
      return reply.status(503).send({ error: error.code, message: error.message });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status < 500) {
      return reply.status(status).send({ error: 'BadRequest', message: errorMessage(error) });
    }
    options.log.error(`${request.method} ${request.url}: ${errorStack(error)}`);
    return reply.status(500).send({ error: 'Internal', message: 'internal error; see the hub log' });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: 'NotFound', message: `no route ${request.method} ${request.url}` });
  });

  return app;
}
