import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import * as z from 'zod';
import { checked } from '../params.js';

/** What a page may want to re-read when the hub says it changed. */
export const changeKinds = ['devices', 'workloads', 'rollouts', 'jobs'] as const;
export type ChangeKind = (typeof changeKinds)[number];

/** Told of every change the dashboard's pages show, by kind; one instance per hub. */
export class ChangeFeed {
  private readonly listeners = new Set<(kind: ChangeKind) => void>();

  changed(kind: ChangeKind): void {
    for (const listener of this.listeners) listener(kind);
  }

  subscribe(listener: (kind: ChangeKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const changesQuery = z.strictObject({ kinds: z.string().regex(/^[a-z]+(,[a-z]+)*$/).max(200).optional() });

/** A burst of changes (a wave assigning 3,000 devices) becomes one line per kind per interval. */
const COALESCE_MS = 250;

/**
 * `GET /v1/changes?kinds=rollouts,jobs`: newline-delimited `{"kind": …}` lines whenever something
 * of that kind changed, so that a dashboard page re-reads it at once instead of on a timer. It
 * says only *that* something changed: what changed is read through the usual routes, with the
 * usual permissions.
 */
export function registerChangeRoutes(app: FastifyInstance, feed: ChangeFeed): void {
  const open = new Set<ServerResponse>();
  app.addHook('onClose', async () => {
    for (const out of open) out.end();
  });
  app.get('/v1/changes', async (request, reply) => {
    const query = checked(changesQuery, request.query ?? {}, 'query');
    const wanted = new Set<string>(query.kinds ? query.kinds.split(',') : changeKinds);
    const unknown = [...wanted].filter((k) => !(changeKinds as readonly string[]).includes(k));
    if (unknown.length > 0) return reply.status(400).send({ error: 'BadRequest', message: `query kinds: unknown ${unknown.join(', ')} (known: ${changeKinds.join(', ')})` });
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', connection: 'close' });
    const due = new Set<ChangeKind>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (): void => {
      timer = undefined;
      for (const kind of due) out.write(`${JSON.stringify({ kind })}\n`);
      due.clear();
    };
    const unsubscribe = feed.subscribe((kind) => {
      if (!wanted.has(kind)) return;
      due.add(kind);
      timer ??= setTimeout(flush, COALESCE_MS);
    });
    const heartbeat = setInterval(() => out.write('\n'), 15_000);
    open.add(out);
    request.raw.on('close', () => {
      open.delete(out);
      clearInterval(heartbeat);
      clearTimeout(timer);
      unsubscribe();
    });
  });
}
