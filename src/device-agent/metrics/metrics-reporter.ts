import type { Logger } from '../../common/log.js';
import type { MetricsSample } from '../../protocol/index.js';
import type { InstanceRuntime, ObservedInstance } from '../runtime/runtime.js';
import { readCustomMetrics } from './custom-metrics.js';
import { cpuPercentBetween, readCpuTimes, readMemoryUsedBytes, type CpuTimes } from './host-usage.js';
import { errorMessage } from '../../common/errors.js';

export interface MetricsReporterDeps {
  stateDir: string;
  runtimes: { container?: InstanceRuntime; process?: InstanceRuntime };
  /** The running instances (from the reconciler's last observation). */
  running(): ObservedInstance[];
  publish(sample: MetricsSample): Promise<boolean>;
  intervalMs: number;
  log: Logger;
}

/**
 * Usage samples for `top` and the autoscaler, sent unretained every interval while connected
 * (a missed sample is fine; a backlog of old ones after an outage is useless).
 */
export class MetricsReporter {
  private timer: NodeJS.Timeout | undefined;
  private previousCpu: CpuTimes | undefined;

  constructor(private readonly deps: MetricsReporterDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.sample().catch((err: unknown) => this.deps.log.debug(`metrics: ${errorMessage(err)}`)), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sample(): Promise<void> {
    const cpu = await readCpuTimes();
    const cpuPercent = cpuPercentBetween(this.previousCpu, cpu);
    this.previousCpu = cpu;
    // Docker answers a stats request after a second sample (~1 s): ask for all at once.
    const running = this.deps.running().filter((i) => i.state === 'running').slice(0, 256);
    const instances: MetricsSample['instances'] = await Promise.all(
      running.map(async (o) => {
        const usage = await this.deps.runtimes[o.runtime]?.usage(o.id).catch(() => undefined);
        return {
          id: o.id,
          workload: o.workload,
          cpuPercent: Math.round((usage?.cpuPercent ?? 0) * 10) / 10,
          memoryBytes: Math.round(usage?.memoryBytes ?? 0),
          custom: await readCustomMetrics(this.deps.stateDir, o.id),
        };
      }),
    );
    await this.deps.publish({ time: new Date().toISOString(), device: { cpuPercent, memoryUsedBytes: await readMemoryUsedBytes() }, instances });
  }
}
