import type { FastifyInstance } from 'fastify';
import { HUB_CA_PATH } from '../../../common/tls-trust.js';
import { PROTOCOL_VERSION, type Bootstrap } from '../../../protocol/index.js';
import type { Admission } from '../../limits/keyed-limiter.js';
import type { StoreHealth } from '../../store/repository.js';
import { HttpError } from '../http-error.js';

export interface BootstrapInfo {
  hubVersion: string;
  /** The broker URL for an agent that reached the hub under `requestHost`. */
  brokerUrlFor(requestHost: string): string;
  /** The join path's connection-rate limit by source address (and overall); absent: none. */
  admitJoin?(sourceAddress: string): Admission;
  /** The CA certificate (PEM) agents and the CLI pin after checking its fingerprint; none with --insecure. */
  caCertificate?: string;
  /** Whether what the hub depends on answers (a shared store may be down); absent: always. */
  health?(): StoreHealth;
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
    return {
      hubVersion: info.hubVersion,
      protocol: PROTOCOL_VERSION,
      brokerUrl: info.brokerUrlFor(request.hostname.replace(/:\d+$/, '')),
    };
  });
  const ca = info.caCertificate;
  // Public on purpose: a CA certificate is no secret, and whoever fetches it checks its fingerprint.
  if (ca !== undefined) app.get(HUB_CA_PATH, async (_request, reply) => reply.type('application/x-pem-file').send(ca));
  // `ok`: the hub process serves. `status`: whether it can also write (degraded: its store is
  // unreachable; reads and writes are refused with StoreUnavailable until it answers again).
  app.get('/healthz', async () => {
    const health = info.health?.() ?? { ok: true };
    return health.ok ? { ok: true, protocol: PROTOCOL_VERSION, status: 'ok' } : { ok: true, protocol: PROTOCOL_VERSION, status: 'degraded', reasons: [health.reason] };
  });
}
