import type { FastifyInstance } from 'fastify';
import { statsQuerySchema } from '../../../protocol/index.js';
import { durableFsyncCount } from '../../../common/durable-file.js';
import type { DeviceRepository, DeviceStateRepository } from '../../store/repository.js';
import { addConvergence, emptyConvergence } from '../../workloads/convergence.js';
import type { PassTimingSummary } from '../../workloads/pass-timings.js';
import { checked } from '../params.js';

export interface StatsSources {
  devices: DeviceRepository;
  deviceState: DeviceStateRepository;
  mqttClients?: () => number;
  messages: () => { received: number; dropped: number };
  passes?: () => PassTimingSummary;
}

/**
 * Counters for operators and the benchmarks: cheap, no device documents. `?instances=true` adds
 * how many sent instances are reported running and ready (one scan of the fleet's documents).
 */
export function registerStatsRoutes(app: FastifyInstance, sources: StatsSources): void {
  app.get('/v1/stats', async (request) => {
    const query = checked(statsQuerySchema, request.query ?? {}, 'query');
    const counts = await sources.devices.count();
    const memory = process.memoryUsage();
    let instances;
    if (query.instances === 'true') {
      instances = emptyConvergence();
      const into = instances;
      await sources.deviceState.scan((_id, desired, reported) => addConvergence(into, desired, reported));
    }
    return {
      devices: counts.total,
      online: counts.online,
      ...(sources.mqttClients ? { mqttClients: sources.mqttClients() } : {}),
      messages: sources.messages(),
      fsyncs: durableFsyncCount(),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      ...(sources.passes ? { passes: sources.passes() } : {}),
      ...(instances ? { instances } : {}),
    };
  });
}
