import type { FastifyInstance, FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { whoamiSchema, type Whoami } from '../../../protocol/index.js';

/** Where `npm run build` puts the dashboard's bundle (dashboard/ → dist/dashboard/). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../../dashboard/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface DashboardRouteDeps {
  /** Who the request's token belongs to (the admin token is `admin`). */
  identify(authorization: string | undefined): Whoami | undefined;
  dir?: string;
}

/**
 * The fleet dashboard (issue 16) on the API's own port: `/ui/` serves the prebuilt page, and
 * `GET /v1/whoami` tells it whose token it holds, so that it offers only what that role may do.
 */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardRouteDeps): void {
  const dir = deps.dir ?? DASHBOARD_DIR;
  const serve = async (file: string, reply: FastifyReply): Promise<unknown> => {
    const path = normalize(join(dir, file));
    if (!path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`)) return reply.status(404).send({ error: 'NotFound', message: 'no such file' });
    const body = await readFile(path).catch(() => undefined);
    if (body === undefined) {
      const message = file === 'index.html' ? `the dashboard is not built (no ${path}); run npm run build` : `no dashboard file ${file}`;
      return reply.status(404).send({ error: 'NotFound', message });
    }
    // Asset names carry a content hash: cache them for good; the page itself never.
    const cache = file.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    return reply.header('content-type', contentTypes[extname(path)] ?? 'application/octet-stream').header('cache-control', cache).send(body);
  };
  app.get('/', async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui/', async (_request, reply) => serve('index.html', reply));
  app.get('/ui/assets/:file', async (request, reply) => serve(`assets/${(request.params as { file: string }).file}`, reply));
  app.get('/v1/whoami', async (request): Promise<Whoami> => {
    const who = deps.identify(request.headers.authorization);
    // The access hook already refused unknown tokens; this is only reached with a known one.
    return whoamiSchema.parse(who ?? { name: 'unknown', role: 'viewer' });
  });
}
