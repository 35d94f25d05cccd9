// The smallest device runtime the fleet benchmarks need: a simulated device follows its desired
// document the way a healthy real agent does (every desired instance running and ready, the
// document's generation observed) and reports that retained, again after every reconnect.
// Nothing is started; instances are bookkeeping. (A fuller simulated runtime is being built in
// bench/support/sim-device-runtime.ts on another branch; this one is enough for reconnect and
// rollout, whose subject is the hub.)
import { decodePayload, desiredStateSchema, payloadLimits, topics, type DesiredState, type ReportedInstance, type ReportedState } from '../../src/protocol/index.js';
import type { DeviceSession } from '../../src/device-agent/session/device-session.js';

export interface SimCounters {
  /** MQTT messages the simulated devices received (desired documents). */
  received: number;
  /** Messages they published (reports, facts, status). */
  published: number;
}

export class SimHealthyDevice {
  private report: ReportedState | undefined;
  /** An instance keeps its start time while its revision stays, like a real one. */
  private readonly started = new Map<string, { revision: string; at: string }>();

  constructor(
    private readonly session: DeviceSession,
    private readonly counters: SimCounters,
  ) {
    session.on('message', (topic, payload) => {
      if (topic !== topics.desired(session.deviceId) || payload.length === 0) return;
      this.counters.received += 1;
      const decoded = decodePayload(desiredStateSchema, payload, payloadLimits.desired);
      if (decoded.ok) this.follow(decoded.value);
    });
    // A real agent resends its report when it is connected again (reconciler.republish).
    session.on('connected', () => void this.publish());
  }

  get reported(): ReportedState | undefined {
    return this.report;
  }

  private follow(desired: DesiredState): void {
    if (this.report && desired.generation <= this.report.observedGeneration) return;
    const instances: ReportedInstance[] = desired.instances.map((i) => {
      const kept = this.started.get(i.id);
      const startedAt = kept && kept.revision === i.revision ? kept.at : new Date().toISOString();
      this.started.set(i.id, { revision: i.revision, at: startedAt });
      return { id: i.id, workload: i.workload, revision: i.revision, runtime: i.template.runtime, phase: 'running', ready: true, restarts: 0, startedAt };
    });
    for (const id of [...this.started.keys()]) if (!desired.instances.some((i) => i.id === id)) this.started.delete(id);
    this.report = { observedGeneration: desired.generation, time: new Date().toISOString(), instances };
    void this.publish();
  }

  private async publish(): Promise<void> {
    if (!this.report) return;
    if (await this.session.publishState('reported', this.report, true).catch(() => false)) this.counters.published += 1;
  }
}
