import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../../../common/log.js';
import { secretMatches } from '../../../common/ids.js';
import type { AuditEntry } from '../../../protocol/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import { HttpError } from '../http-error.js';
import type { ApiTokens, Caller } from './api-tokens.js';
import { decideAccess, routeAccess } from './policy.js';
import { errorMessage } from '../../../common/errors.js';

export interface AccessControlOptions {
  adminTokenHash: string;
  apiTokens?: ApiTokens;
  /** Every write (any method but GET/HEAD/OPTIONS) is recorded here before it is answered. */
  audit?: Pick<AuditLog, 'append'>;
  /** Paths that need no token, besides the routes the policy marks public. */
  publicPaths?: readonly string[];
  /** Failed logins per source address: past its budget an address gets 429 before its token is looked at. */
  failedAuth?: FailedLoginBudget;
  now: () => Date;
  log: Logger;
}

/** What access control needs of a FailedAuthLimiter (src/hub/limits/failed-auth-limiter.ts). */
export interface FailedLoginBudget {
  check(address: string): { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };
  failed(address: string): void;
}

/** A 429 for an address that presented too many wrong tokens lately; its Retry-After says when it may try again. */
export class TooManyFailedLogins extends HttpError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'TooManyFailedLogins', `too many requests with a wrong token from this address; retry in ${retryAfterSeconds} s`);
  }
}

const callers = new WeakMap<FastifyRequest, Caller>();
const routesOf = new WeakMap<FastifyInstance, string[]>();

/** `METHOD /route` of every route registered on an app with access control (HEAD ones left out). */
export function registeredRoutes(app: FastifyInstance): readonly string[] {
  return routesOf.get(app) ?? [];
}

/** Who made this request (set once its token was accepted). */
export function callerOf(request: FastifyRequest): Caller | undefined {
  return callers.get(request);
}

/** The bootstrap admin token, or a person's named token. */
export function identify(header: string | undefined, options: Pick<AccessControlOptions, 'adminTokenHash' | 'apiTokens'>): Caller | undefined {
  if (!header?.startsWith('Bearer ')) return undefined;
  const token = header.slice(7).trim();
  if (secretMatches(token, options.adminTokenHash)) return { name: 'admin', role: 'admin' };
  return options.apiTokens?.identify(token);
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authentication, the role check and the audit record for every API request: one hook in, one
 * hook out. A refused request answers 401 (no valid token) or 403 (the role lacks the permission).
 */
export function installAccessControl(app: FastifyInstance, options: AccessControlOptions): void {
  const publicPaths = new Set(options.publicPaths ?? []);
  const routes: string[] = [];
  routesOf.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    const path = request.url.split('?')[0] ?? '';
    if (publicPaths.has(path) || (route !== undefined && routeAccess(request.method, route) === 'public')) return;
    // Only a presented token is a guess; a request without one is refused below and costs nothing.
    const presented = request.headers.authorization !== undefined;
    const budget = presented ? options.failedAuth?.check(request.ip) : undefined;
    if (budget && !budget.ok) {
      const seconds = Math.max(1, Math.ceil(budget.retryAfterMs / 1000));
      options.log.debug(`refused ${request.method} ${path} from ${request.ip} unread: too many wrong tokens from there (retry in ${seconds} s)`);
      void reply.header('retry-after', String(seconds));
      throw new TooManyFailedLogins(seconds);
    }
    const caller = identify(request.headers.authorization, options);
    if (!caller) {
      if (presented) options.failedAuth?.failed(request.ip);
      options.log.warn(`refused ${request.method} ${path} from ${request.ip}: no valid token`);
      throw new HttpError(401, 'Unauthorized', 'missing, wrong, expired or revoked token (set it with --token, EDGEPILOT_TOKEN or the config file)');
    }
    callers.set(request, caller);
    if (route === undefined) return; // no such route: the 404 says so
    const decision = decideAccess(caller.role, request.method, route);
    if (!decision.allowed) throw new HttpError(403, 'Forbidden', `${caller.name}: ${decision.reason}`);
  });

  const audit = options.audit;
  if (!audit) return;
  // onSend runs before the first byte of the answer leaves, for handlers and errors alike.
  app.addHook('onSend', async (request, reply, payload) => {
    const caller = callers.get(request);
    // Requests without a valid token are not recorded: anyone could otherwise rotate the
    // bounded log's real entries away with junk (they go to the hub log instead).
    if (READS.has(request.method) || !caller) return payload;
    const entry: AuditEntry = {
      time: options.now().toISOString(),
      who: caller.name,
      role: caller.role,
      method: request.method,
      route: request.routeOptions.url ?? (request.url.split('?')[0] ?? '').slice(0, 200),
      object: auditObject(request.params, request.body),
      status: reply.statusCode,
      source: request.ip,
    };
    try {
      await audit.append(entry);
    } catch (err) {
      // The write itself is done; refusing its answer would tell the caller it failed. The hub
      // log keeps the entry instead, loudly.
      options.log.error(`audit log write failed (${errorMessage(err)}); entry: ${JSON.stringify(entry)}`);
    }
    return payload;
  });
}

/** What a write named: its path parameters, the documents it applied, the command it gave. */
export function auditObject(params: unknown, body: unknown): string {
  const parts: string[] = [];
  if (params && typeof params === 'object') {
    for (const [key, value] of Object.entries(params as Record<string, unknown>)) parts.push(`${key}=${String(value)}`);
  }
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if (Array.isArray(record['manifests'])) {
      const named = record['manifests'].map((doc) => {
        const d = (doc ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
        return `${typeof d.kind === 'string' ? d.kind : '?'}/${typeof d.metadata?.name === 'string' ? d.metadata.name : '?'}`;
      });
      parts.push(named.join(','));
    }
    for (const key of ['type', 'name', 'role', 'from']) {
      const value = record[key];
      if (typeof value === 'string') parts.push(`${key}=${value}`);
    }
  }
  const text = parts.join(' ');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
