import type { FastifyInstance } from 'fastify';
import { HUB_CA_PATH } from '../../../common/tls-trust.js';
import { PROTOCOL_VERSION, type Bootstrap } from '../../../protocol/index.js';

export interface BootstrapInfo {
  hubVersion: string;
  /** The broker URL for an agent that reached the hub under `requestHost`. */
  brokerUrlFor(requestHost: string): string;
  /** The CA certificate (PEM) agents and the CLI pin after checking its fingerprint; none with --insecure. */
  caCertificate?: string;
}

/** Public: how agents find this hub's broker. Reveals nothing an agent could not learn by connecting. */
export function registerBootstrapRoutes(app: FastifyInstance, info: BootstrapInfo): void {
  app.get('/v1/bootstrap', async (request): Promise<Bootstrap> => ({
    hubVersion: info.hubVersion,
    protocol: PROTOCOL_VERSION,
    brokerUrl: info.brokerUrlFor(request.hostname.replace(/:\d+$/, '')),
  }));
  const ca = info.caCertificate;
  // Public on purpose: a CA certificate is no secret, and whoever fetches it checks its fingerprint.
  if (ca !== undefined) app.get(HUB_CA_PATH, async (_request, reply) => reply.type('application/x-pem-file').send(ca));
  app.get('/healthz', async () => ({ ok: true, protocol: PROTOCOL_VERSION }));
}
