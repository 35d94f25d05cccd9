import type { FastifyInstance } from 'fastify';
import type { HubMetrics } from '../../metrics/hub-metrics.js';

/**
 * `GET /metrics` in Prometheus' text format. It needs a token like every other read (Prometheus
 * sends one with `authorization: {credentials_file: …}`): device names and fleet shape are not
 * for anyone on the network.
 */
export function registerMetricsRoutes(app: FastifyInstance, metrics: HubMetrics): void {
  app.get('/metrics', async (_request, reply) => {
    const { body, contentType } = await metrics.exposition();
    return reply.header('content-type', contentType).send(body);
  });
}
