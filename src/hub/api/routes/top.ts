import type { FastifyInstance } from 'fastify';
import type { UsageStore } from '../../fleet/usage-store.js';
import type { HubStore } from '../../store/repository.js';

export interface TopDeps {
  store: HubStore;
  usage: UsageStore;
  now: () => number;
  /** Samples older than this are not shown. */
  maxAgeMs: number;
}

/** `edgepilot top`: the latest usage samples, per device and summed per workload. */
export function registerTopRoutes(app: FastifyInstance, deps: TopDeps): void {
  app.get('/v1/top/devices', async () => {
    const samples = deps.usage.fresh(deps.now(), deps.maxAgeMs);
    const devices = await deps.store.devices.list();
    return {
      items: devices
        .filter((d) => samples.has(d.id))
        .map((d) => {
          const s = samples.get(d.id);
          return {
            id: d.id,
            time: s?.time,
            cpuPercent: s?.device.cpuPercent ?? 0,
            cpuCores: d.facts?.cpu.cores ?? 0,
            memoryUsedBytes: s?.device.memoryUsedBytes ?? 0,
            memoryTotalBytes: d.facts?.memory.totalBytes ?? 0,
            instances: s?.instances.length ?? 0,
          };
        })
        .sort((a, b) => a.id.localeCompare(b.id)),
    };
  });

  app.get('/v1/top/workloads', async () => {
    const samples = deps.usage.fresh(deps.now(), deps.maxAgeMs);
    const byWorkload = new Map<string, { replicas: number; cpuPercent: number; memoryBytes: number; custom: Map<string, number[]> }>();
    for (const sample of samples.values()) {
      for (const i of sample.instances) {
        const entry = byWorkload.get(i.workload) ?? { replicas: 0, cpuPercent: 0, memoryBytes: 0, custom: new Map<string, number[]>() };
        entry.replicas += 1;
        entry.cpuPercent += i.cpuPercent;
        entry.memoryBytes += i.memoryBytes;
        for (const [k, v] of Object.entries(i.custom)) entry.custom.set(k, [...(entry.custom.get(k) ?? []), v]);
        byWorkload.set(i.workload, entry);
      }
    }
    return {
      items: [...byWorkload]
        .map(([name, e]) => ({
          name,
          replicas: e.replicas,
          cpuPercent: Math.round(e.cpuPercent * 10) / 10,
          memoryBytes: e.memoryBytes,
          custom: Object.fromEntries([...e.custom].map(([k, vs]) => [k, Math.round((vs.reduce((a, b) => a + b, 0) / vs.length) * 100) / 100])),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  });
}
