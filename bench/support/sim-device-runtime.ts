// A simulated device that follows its desired state like the real agent, without running anything.
//
// Shared by the fleet benchmarks (fleet, rollout). What is the agent's own code here: the desired
// document is decoded with the same schema and size limit as src/device-agent/main.ts, older
// generations are ignored as the Reconciler does, `plan` (planner.ts) decides the steps,
// `holdForWindow` keeps installs outside a closed maintenance window, and `reportInstances`
// (report.ts) builds the report, published retained at QoS 1 on `reported` through the same
// DeviceSession.publishState the agent uses. What is simulated: the runtime. A started instance is
// running at once (or exits at once, see `SimBehaviour`), probes answer at once, nothing is
// written to disk.
//
// Stable API (other branches use it): `SimDeviceRuntime`, `SimDeviceRuntimeOptions`,
// `SimBehaviour`, `SimDeviceStats`, `attachSimDeviceRuntime`.
import type { DeviceSession } from '../../src/device-agent/session/device-session.js';
import { kubernetesBackoff, observedKey, type BackoffPolicy, type InstanceHealth, type InstanceRecord, type Step } from '../../src/device-agent/reconcile/model.js';
import { nextWake, plan } from '../../src/device-agent/reconcile/planner.js';
import { reportInstances } from '../../src/device-agent/reconcile/report.js';
import { holdForWindow } from '../../src/device-agent/reconcile/window-hold.js';
import type { ObservedInstance } from '../../src/device-agent/runtime/runtime.js';
import { decodePayload, desiredStateSchema, payloadLimits, topics, type DesiredInstance, type DesiredState, type ReportedState } from '../../src/protocol/index.js';

/**
 * How a started instance behaves: `ready` runs and passes its probes (the default); `unready` runs
 * but its readiness probe never passes; `crash` exits with code 1 at once, so the agent's own
 * planner puts it into crash-loop backoff and counts restarts.
 */
export type SimBehaviour = 'ready' | 'unready' | 'crash';

export interface SimDeviceRuntimeOptions {
  deviceId: string;
  /** Sends a report; resolves false when offline (the report is then sent again on `republish`). */
  publishReport(report: ReportedState): Promise<boolean>;
  /** Defaults to Date.now. */
  now?: () => number;
  /** Per instance, decided when it starts; defaults to 'ready'. */
  behaviour?: (instance: DesiredInstance, deviceId: string) => SimBehaviour;
  /** Crash-loop backoff of `crash` instances (the agent's default: 10 s doubling to 5 min). */
  backoff?: BackoffPolicy;
  /** Called after each report that was sent (for latency measurements). */
  onReported?: (report: ReportedState) => void;
  /** A desired document that failed to decode (the agent logs and drops it). */
  onDropped?: (reason: string) => void;
}

export interface SimDeviceStats {
  desiredMessages: number;
  desiredBytes: number;
  reportsSent: number;
  reportBytes: number;
  dropped: number;
}

let simulatedPid = 100_000;

export class SimDeviceRuntime {
  readonly stats: SimDeviceStats = { desiredMessages: 0, desiredBytes: 0, reportsSent: 0, reportBytes: 0, dropped: 0 };
  private desired: DesiredState | undefined;
  private observed: ObservedInstance[] = [];
  private readonly records = new Map<string, InstanceRecord>();
  private readonly health = new Map<string, InstanceHealth>();
  private readonly failures = new Map<string, string>();
  private lastReport = '';
  private wakeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: SimDeviceRuntimeOptions) {
    this.now = options.now ?? Date.now;
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  /** The generation last accepted (undefined before the first desired document). */
  get generation(): number | undefined {
    return this.desired?.generation;
  }

  /** What runs here now (the simulated runtime's view). */
  instances(): readonly ObservedInstance[] {
    return this.observed;
  }

  /**
   * Feed every MQTT message of the device's session here; returns true when it was the desired
   * topic. Decoding, the size limit and the generation check are the agent's.
   */
  handleMessage(topic: string, payload: Buffer): boolean {
    if (topic !== topics.desired(this.options.deviceId)) return false;
    if (payload.length === 0) return true;
    this.stats.desiredMessages += 1;
    this.stats.desiredBytes += payload.length;
    const decoded = decodePayload(desiredStateSchema, payload, payloadLimits.desired);
    if (!decoded.ok) {
      this.stats.dropped += 1;
      this.options.onDropped?.(decoded.error);
      return true;
    }
    this.setDesired(decoded.value);
    return true;
  }

  /** Applies a desired document (already decoded); older or equal generations are ignored. */
  setDesired(desired: DesiredState): void {
    if (this.desired && desired.generation <= this.desired.generation) return;
    this.desired = desired;
    this.reconcile();
  }

  /** Sends the current report even if unchanged (the agent does this after every reconnect). */
  republish(): void {
    this.lastReport = '';
    this.report();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
  }

  /** observe → plan → execute until the plan has nothing left to do now, then report once. */
  private reconcile(): void {
    if (this.stopped) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    let steps: Step[] = [];
    // Each round acts on the previous one's result (a replacement: start, then stop the old one).
    for (let round = 0; round < 10; round++) {
      const now = this.now();
      const planned = plan({
        now,
        desired: this.desired?.instances ?? [],
        observed: this.observed,
        records: this.records,
        health: this.health,
        runtimes: { container: true, process: true },
        backoff: this.options.backoff ?? kubernetesBackoff,
      });
      steps = holdForWindow(planned, this.desired, now).steps;
      const acting = steps.filter((s) => s.kind !== 'wait' && !(s.kind === 'fail' && this.failures.get(s.id) === s.reason));
      if (acting.length === 0) break;
      for (const step of acting) this.execute(step, now);
    }
    this.report();
    const wake = nextWake(steps);
    if (wake !== undefined) this.wakeTimer = setTimeout(() => this.reconcile(), Math.max(0, wake - this.now()));
  }

  private recordOf(id: string, workload: string): InstanceRecord {
    let record = this.records.get(id);
    if (!record) {
      record = { id, workload, restarts: 0, crashStreak: 0 };
      this.records.set(id, record);
    }
    return record;
  }

  /** The in-memory counterpart of the agent's executors (executors.ts), minus Docker and files. */
  private execute(step: Step, now: number): void {
    switch (step.kind) {
      case 'start': {
        const instance = step.instance;
        const record = this.recordOf(instance.id, instance.workload);
        if (record.revision !== undefined && record.revision !== instance.revision) Object.assign(record, { restarts: 0, crashStreak: 0, nextStartAt: undefined, lastError: undefined });
        record.revision = instance.revision;
        if (step.reason === 'restart' && record.restartRequested !== true) record.restarts += 1;
        if (step.reason === 'replace') Object.assign(record, { restarts: 0, crashStreak: 0 });
        Object.assign(record, { lastStartedAt: now, nextStartAt: undefined, lastError: undefined, restartRequested: false });
        this.failures.delete(instance.id);
        const behaviour = this.options.behaviour?.(instance, this.options.deviceId) ?? 'ready';
        const startedAt = new Date(now);
        const base = { id: instance.id, workload: instance.workload, revision: instance.revision, runtime: instance.template.runtime, startedAt, pid: simulatedPid++ } as const;
        this.observed = this.observed.filter((o) => !(o.id === instance.id && o.revision === instance.revision));
        this.observed.push(behaviour === 'crash' ? { ...base, state: 'exited', exitCode: 1, finishedAt: startedAt } : { ...base, state: 'running' });
        this.health.set(observedKey(base), { live: true, ready: behaviour === 'ready' });
        return;
      }
      case 'stop':
        this.observed = this.observed.map((o) => (o.id === step.id && o.revision === step.revision && o.state === 'running' ? { ...o, state: 'exited', exitCode: 0, finishedAt: new Date(now) } : o));
        return;
      case 'remove':
        this.observed = this.observed.filter((o) => !(o.id === step.id && o.revision === step.revision));
        this.health.delete(observedKey(step));
        if (step.reason === 'no longer desired') {
          this.records.delete(step.id);
          this.failures.delete(step.id);
        }
        return;
      case 'record-exit': {
        const o = step.observed;
        Object.assign(this.recordOf(o.id, o.workload), {
          revision: o.revision,
          lastExitAt: o.finishedAt?.getTime() ?? now,
          lastExitCode: o.exitCode ?? null,
          lastExitKey: `${o.containerId ?? o.pid ?? ''}:${o.finishedAt?.getTime() ?? 'unknown'}`,
          crashStreak: step.crashStreak,
          nextStartAt: step.nextStartAt,
        });
        return;
      }
      case 'fail':
        this.failures.set(step.id, step.reason);
        return;
      case 'wait':
        return;
    }
  }

  private report(): void {
    const instances = reportInstances({
      now: this.now(),
      desired: this.desired?.instances ?? [],
      observed: this.observed,
      records: this.records,
      health: this.health,
      activity: new Map(),
      failures: this.failures,
      runtimes: { container: true, process: true },
    });
    // The agent's own dedupe: an unchanged report is not sent again.
    const body = JSON.stringify({ g: this.desired?.generation ?? 0, instances });
    if (body === this.lastReport) return;
    this.lastReport = body;
    const report: ReportedState = { observedGeneration: this.desired?.generation ?? 0, time: new Date(this.now()).toISOString(), instances };
    void this.options.publishReport(report).then(
      (sent) => {
        if (!sent) {
          if (this.lastReport === body) this.lastReport = '';
          return;
        }
        this.stats.reportsSent += 1;
        this.stats.reportBytes += JSON.stringify(report).length;
        this.options.onReported?.(report);
      },
      () => {
        if (this.lastReport === body) this.lastReport = '';
      },
    );
  }
}

/**
 * Wires a simulator to a device's session the way the agent wires its reconciler: desired
 * documents from `message`, a fresh report after every (re)connect. Call before `session.start()`
 * so the retained desired document is not missed.
 */
export function attachSimDeviceRuntime(session: DeviceSession, options: Omit<SimDeviceRuntimeOptions, 'deviceId' | 'publishReport'> = {}): SimDeviceRuntime {
  const runtime = new SimDeviceRuntime({
    ...options,
    deviceId: session.deviceId,
    publishReport: (report) => session.publishState('reported', report, true),
  });
  session.on('message', (topic, payload) => void runtime.handleMessage(topic, payload));
  session.on('connected', () => runtime.republish());
  return runtime;
}
