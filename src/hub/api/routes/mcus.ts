import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import type { McuTelemetry } from '../../../protocol/index.js';
import { mcuViews } from '../../mcus/mcu-views.js';
import type { TelemetryFeed } from '../../mcus/telemetry-feed.js';
import type { DeviceRepository } from '../../store/repository.js';
import { badRequest, notFound } from '../http-error.js';
import { pathParam } from '../params.js';

export interface McuRouteDeps {
  devices: DeviceRepository;
  telemetry: TelemetryFeed;
}

const telemetryQuery = z.object({
  tail: z.coerce.number().int().min(0).max(64).default(10),
  follow: z.enum(['true', 'false']).default('false'),
});

/** MCUs behind gateways (from their facts) and their telemetry. */
export function registerMcuRoutes(app: FastifyInstance, deps: McuRouteDeps): void {
  app.get('/v1/mcus', async () => ({ items: mcuViews(await deps.devices.list(), (g, m) => deps.telemetry.latest(g, m)) }));

  app.get('/v1/mcus/:gateway/:mcu/telemetry', async (request, reply) => {
    const gateway = pathParam(request.params, 'gateway');
    const mcu = pathParam(request.params, 'mcu');
    const query = telemetryQuery.safeParse(request.query);
    if (!query.success) throw badRequest('query: tail (0..64), follow (true|false)');
    const device = await deps.devices.get(gateway);
    if (!device) throw notFound(`gateway ${gateway}`);
    if (!device.facts?.mcus.some((m) => m.id === mcu) && !deps.telemetry.latest(gateway, mcu)) throw notFound(`MCU ${mcu} on ${gateway}`);
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    const write = (t: McuTelemetry): void => void out.write(`${JSON.stringify(t)}\n`);
    for (const t of deps.telemetry.recent(gateway, mcu, query.data.tail)) write(t);
    if (query.data.follow !== 'true') {
      out.end();
      return;
    }
    const unsubscribe = deps.telemetry.subscribe(gateway, mcu, write);
    request.raw.on('close', unsubscribe);
  });
}
