import type { FastifyInstance } from 'fastify';
import { durableFsyncCount } from '../../../common/durable-file.js';
import type { DeviceRepository } from '../../store/repository.js';

export interface StatsSources {
  devices: DeviceRepository;
  mqttClients?: () => number;
  messages: () => { received: number; dropped: number };
}

/** Counters for operators and the benchmarks: cheap, no device documents. */
export function registerStatsRoutes(app: FastifyInstance, sources: StatsSources): void {
  app.get('/v1/stats', async () => {
    const counts = await sources.devices.count();
    const memory = process.memoryUsage();
    return {
      devices: counts.total,
      online: counts.online,
      ...(sources.mqttClients ? { mqttClients: sources.mqttClients() } : {}),
      messages: sources.messages(),
      fsyncs: durableFsyncCount(),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    };
  });
}
