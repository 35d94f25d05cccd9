import type { FastifyInstance } from 'fastify';
import { PROTOCOL_VERSION, type Bootstrap } from '../../../protocol/index.js';

export interface BootstrapInfo {
  hubVersion: string;
  /** The broker URL for an agent that reached the hub under `requestHost`. */
  brokerUrlFor(requestHost: string): string;
}

/** Public: how agents find this hub's broker. Reveals nothing an agent could not learn by connecting. */
export function registerBootstrapRoutes(app: FastifyInstance, info: BootstrapInfo): void {
  app.get('/v1/bootstrap', async (request): Promise<Bootstrap> => ({
    hubVersion: info.hubVersion,
    protocol: PROTOCOL_VERSION,
    brokerUrl: info.brokerUrlFor(request.hostname.replace(/:\d+$/, '')),
  }));
  app.get('/healthz', async () => ({ ok: true, protocol: PROTOCOL_VERSION }));
}
