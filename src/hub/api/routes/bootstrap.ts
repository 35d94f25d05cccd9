import type { FastifyInstance } from 'fastify';
import { HUB_CA_PATH } from '../../../common/tls-trust.js';
import { PROTOCOL_VERSION, type Bootstrap, type HubEndpoint } from '../../../protocol/index.js';
import type { Admission } from '../../limits/keyed-limiter.js';
import { HttpError } from '../http-error.js';

export interface BootstrapInfo {
  hubVersion: string;
  /** The broker URL for an agent that reached the hub under `requestHost`. */
  brokerUrlFor(requestHost: string): string;
  /** The join path's connection-rate limit by source address (and overall); absent: none. */
  admitJoin?(sourceAddress: string): Admission;
  /** The CA certificate (PEM) agents and the CLI pin after checking its fingerprint; none with --insecure. */
  caCertificate?: string;
  /** Several hubs: the live ones, this one first (agents keep the list and move when theirs is gone). */
  hubs?: (requestHost: string) => Promise<HubEndpoint[]>;
  /** Whether what the hub depends on answers (a shared store, Redis), and why not; absent: always. */
  health?: () => { ok: boolean; reason?: string };
}

/** A 429 whose Retry-After (whole seconds, RFC 9110 §10.2.3) tells the agent when to come back. */
export class TooManyRequests extends HttpError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'TooManyRequests', `too many join attempts; retry in ${retryAfterSeconds} s`);
  }
}

/** Public: how agents find this hub's broker. Reveals nothing an agent could not learn by connecting. */
export function registerBootstrapRoutes(app: FastifyInstance, info: BootstrapInfo): void {
  app.get('/v1/bootstrap', async (request, reply): Promise<Bootstrap> => {
    const admission = info.admitJoin?.(request.ip) ?? { ok: true };
    if (!admission.ok) {
      const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
      void reply.header('retry-after', String(seconds));
      throw new TooManyRequests(seconds);
    }
    const host = request.hostname.replace(/:\d+$/, '');
    const hubs = await info.hubs?.(host);
    return {
      hubVersion: info.hubVersion,
      protocol: PROTOCOL_VERSION,
      brokerUrl: info.brokerUrlFor(host),
      ...(hubs && hubs.length > 0 ? { hubs } : {}),
    };
  });
  const ca = info.caCertificate;
  // Public on purpose: a CA certificate is no secret, and whoever fetches it checks its fingerprint.
  if (ca !== undefined) app.get(HUB_CA_PATH, async (_request, reply) => reply.type('application/x-pem-file').send(ca));
  // Degraded (its store or Redis does not answer): 503, so a load balancer or supervisor sees it;
  // reads still work, writes are refused with StoreUnavailable or MessagingUnavailable until it recovers.
  app.get('/healthz', async (_request, reply) => {
    const health = info.health?.() ?? { ok: true };
    if (health.ok) return { ok: true, status: 'ok', protocol: PROTOCOL_VERSION };
    return reply.code(503).send({ ok: false, status: 'degraded', reason: health.reason, protocol: PROTOCOL_VERSION });
  });
}
