import type { FastifyInstance } from 'fastify';
import type { HubView } from '../../../protocol/index.js';

/** `GET /v1/hubs`: the live hubs (this one first), which leads, their health and load (`edgepilot get hubs`). */
export function registerHubRoutes(app: FastifyInstance, deps: { list: () => Promise<HubView[]> }): void {
  app.get('/v1/hubs', async (): Promise<{ items: HubView[] }> => ({ items: await deps.list() }));
}
