import type { FastifyInstance } from 'fastify';
import type { LayerHealth } from '../broker/redis-layer.js';
import { HttpError } from './http-error.js';

/**
 * A write that must reach devices, taken while the MQTT layer the hubs share (Redis) is down,
 * would be stored and then never delivered, or delivered by chance much later: refused instead,
 * with the reason, so the operator retries when the hub is healthy again (it recovers by itself).
 */
export class MessagingUnavailable extends HttpError {
  constructor(reason: string) {
    super(503, 'MessagingUnavailable', `this hub cannot reach devices now (${reason}); nothing was changed, retry when \`edgepilot get hubs\` shows it ok`);
  }
}

/** Writes that stay on this hub or in the store and reach no device (tokens, people, firmware images). */
const LOCAL_WRITES = [/^\/v1\/tokens(\/|$)/, /^\/v1\/api-tokens(\/|$)/, /^\/v1\/firmware(\/|$)/];

export function guardWritesByMessaging(app: FastifyInstance, health: () => LayerHealth): void {
  app.addHook('preHandler', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/v1/') || path === '/v1/bootstrap' || LOCAL_WRITES.some((p) => p.test(path))) return;
    const now = health();
    if (!now.ok) throw new MessagingUnavailable(now.reason ?? 'messaging unavailable');
  });
}
