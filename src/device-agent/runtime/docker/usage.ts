import * as z from 'zod';
import type { UsageSample } from '../runtime.js';

/** The parts of `GET /containers/<id>/stats?stream=false` the sample needs; dockerode types them loosely. */
const cpuStatsSchema = z.looseObject({
  cpu_usage: z.looseObject({ total_usage: z.number().default(0), percpu_usage: z.array(z.number()).nullish() }).optional(),
  system_cpu_usage: z.number().optional(),
  online_cpus: z.number().optional(),
});
const statsSchema = z.looseObject({
  cpu_stats: cpuStatsSchema.optional(),
  precpu_stats: cpuStatsSchema.optional(),
  memory_stats: z
    .looseObject({
      usage: z.number().optional(),
      stats: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
});

/**
 * CPU as the docker CLI computes it: the container's CPU time over the whole machine's CPU time
 * between the two samples the daemon takes (stream=false waits for the second one), times the
 * number of CPUs — so 100 % is one full core. Memory as the CLI shows it: usage without the
 * inactive page cache (cgroup v1 `total_inactive_file`, v2 `inactive_file`; older engines only
 * report `cache`), since reclaimable cache is not memory the workload holds on to.
 */
export function usageFromStats(raw: unknown): UsageSample | undefined {
  const parsed = statsSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { cpu_stats: cpu, precpu_stats: precpu, memory_stats: memory } = parsed.data;
  if (cpu === undefined || memory?.usage === undefined) return undefined;
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (precpu?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - (precpu?.system_cpu_usage ?? 0);
  const cpus = cpu.online_cpus ?? cpu.cpu_usage?.percpu_usage?.length ?? 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const stats = memory.stats ?? {};
  const cache = stats['total_inactive_file'] ?? stats['inactive_file'] ?? stats['cache'] ?? 0;
  const memoryBytes = cache < memory.usage ? memory.usage - cache : memory.usage;
  return { cpuPercent, memoryBytes };
}
