import { decideReplicas, type Recommendation } from '../../scheduler/index.js';
import type { Logger } from '../../common/log.js';
import type { UsageStore } from '../fleet/usage-store.js';
import { eventSubjects, type WorkloadRecord } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { errorMessage } from '../../common/errors.js';

export interface AutoscalerDeps {
  store: HubStore;
  usage: UsageStore;
  now: () => number;
  intervalMs: number;
  /** Asks the placement controller for a pass after a change of replicas. */
  replicasChanged(): void;
  log: Logger;
}

/** The replica count an autoscaled workload runs at now. */
export function effectiveReplicas(workload: WorkloadRecord, autoscaled: number | undefined): number | 'all' {
  const { replicas, autoscale } = workload.spec;
  if (replicas === 'all' || !autoscale) return replicas;
  return Math.min(autoscale.max, Math.max(autoscale.min, autoscaled ?? replicas));
}

/**
 * The horizontal autoscaler's shell: every interval, the samples of each autoscaled workload's
 * replicas go into the pure decision (scheduler/autoscale.ts); a new count is stored with the
 * workload's placement and explained in an event.
 */
export class Autoscaler {
  private readonly history = new Map<string, readonly Recommendation[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: AutoscalerDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick().catch((err: unknown) => this.deps.log.error(`autoscaler: ${errorMessage(err)}`)), this.deps.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    const { store, usage, now } = this.deps;
    const samples = usage.fresh(now(), this.deps.intervalMs * 3);
    for (const workload of await store.workloads.list()) {
      const autoscale = workload.spec.autoscale;
      if (!autoscale || workload.spec.replicas === 'all') continue;
      const placement = (await store.placements.get(workload.name)) ?? { workload: workload.name, replicas: {} };
      const current = effectiveReplicas(workload, placement.autoscaledReplicas);
      if (current === 'all') continue;
      const values: number[] = [];
      for (const sample of samples.values()) {
        for (const instance of sample.instances) {
          if (instance.workload !== workload.name) continue;
          if (autoscale.metric) {
            const value = instance.custom[autoscale.metric.name];
            if (value !== undefined) values.push(value);
          } else {
            // Percent of the CPU request, as the HPA measures it; usage is in percent of a core.
            const request = workload.spec.template.resources.requests.cpuMillis;
            if (request) values.push((instance.cpuPercent * 10 * 100) / request);
          }
        }
      }
      const decision = decideReplicas({ autoscale, currentReplicas: current, samples: values, history: this.history.get(workload.name) ?? [], now: now() });
      this.history.set(workload.name, decision.history);
      if (decision.desired === current) continue;
      await store.placements.put({ ...placement, autoscaledReplicas: decision.desired });
      const metric = autoscale.metric ? `${autoscale.metric.name} averages ${average(values)} (target ${autoscale.metric.targetAverage})` : `CPU averages ${average(values)}% of request (target ${autoscale.targetCPUPercent ?? 0}%)`;
      await store.events.append(eventSubjects.workload(workload.name), {
        time: new Date(now()).toISOString(),
        type: 'Normal',
        reason: decision.desired > current ? 'ScaledUp' : 'ScaledDown',
        message: `replicas ${current} → ${decision.desired}: ${metric}; ${decision.reason}`,
      });
      this.deps.log.info(`${workload.name}: replicas ${current} → ${decision.desired} (${decision.reason})`);
      this.deps.replicasChanged();
    }
  }
}

function average(values: readonly number[]): string {
  if (values.length === 0) return 'n/a';
  return (values.reduce((a, b) => a + b, 0) / values.length).toFixed(1);
}
