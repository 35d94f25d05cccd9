import type { Logger } from '../../common/log.js';
import type { DesiredInstance, DesiredState, ReportedState } from '../../protocol/index.js';
import type { InstanceRuntime, ObservedInstance } from '../runtime/runtime.js';
import { holdForWindow } from './window-hold.js';
import { createExecutors, type Executors } from './executors.js';
import type { LocalState } from './local-state.js';
import type { BackoffPolicy, EventSink, InstanceRecord, Step } from './model.js';
import { nextWake, plan } from './planner.js';
import { ProbeManager } from './probes.js';
import { reportInstances, type Activity } from './report.js';

export interface ReconcilerDeps {
  decorate(instance: DesiredInstance): Promise<DesiredInstance>;
  /** Undoes `decorate` (the metrics folder) once an instance is no longer desired here. */
  release(instanceId: string): Promise<void>;
  runtimes: { container?: InstanceRuntime; process?: InstanceRuntime };
  state: Pick<LocalState, 'loadDesired' | 'saveDesired' | 'loadRecords' | 'saveRecords'>;
  /** Publishes the report (retained); false when offline, and it is sent again on reconnect. */
  publishReport(report: ReportedState): Promise<boolean>;
  event: EventSink;
  now: () => number;
  backoff: BackoffPolicy;
  log: Logger;
  /** How often the runtimes are observed when nothing else wakes the loop. */
  resyncMs?: number;
}

/**
 * observe → plan → execute → observe, one apply at a time. Wakes on a new desired state, an
 * instance exit, a probe change, a backoff deadline or the periodic resync. Everything it
 * needs to keep going lives on this device: the hub can be away for days.
 */
export class Reconciler {
  private desired: DesiredState | undefined;
  private records = new Map<string, InstanceRecord>();
  private readonly activity = new Map<string, Activity>();
  private readonly failures = new Map<string, string>();
  private readonly probes: ProbeManager;
  private readonly executors: Executors;
  private observed: ObservedInstance[] = [];
  private dirty = true;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private current: AbortController | undefined;
  private loopDone: Promise<void> | undefined;
  private lastReport = '';
  private unsubscribers: (() => void)[] = [];

  constructor(private readonly deps: ReconcilerDeps) {
    this.probes = new ProbeManager(() => this.kick(), deps.log.child('probes'));
    this.executors = createExecutors({
      decorate: deps.decorate,
      release: deps.release,
      runtimeFor: (kind) => deps.runtimes[kind],
      runtimeOf: (id, revision) => {
        const o = this.observed.find((x) => x.id === id && x.revision === revision);
        return o ? deps.runtimes[o.runtime] : undefined;
      },
      records: this.records,
      saveRecords: () => deps.state.saveRecords(this.records),
      activity: this.activity,
      failures: this.failures,
      event: deps.event,
      now: deps.now,
      backoff: deps.backoff,
      log: deps.log,
    });
  }

  get generation(): number | undefined {
    return this.desired?.generation;
  }

  /** Restores the last desired state and bookkeeping from disk and starts the loop. */
  async start(): Promise<void> {
    this.desired = await this.deps.state.loadDesired();
    const records = await this.deps.state.loadRecords();
    for (const [id, r] of records) this.records.set(id, r);
    if (this.desired) this.deps.log.info(`restored desired generation ${this.desired.generation} (${this.desired.instances.length} instances) from disk`);
    for (const runtime of Object.values(this.deps.runtimes)) if (runtime) this.unsubscribers.push(runtime.onExit(() => this.kick()));
    this.loopDone = this.loop();
  }

  /** A desired document from the hub: stored first, then applied. Older generations are ignored. */
  async setDesired(desired: DesiredState): Promise<void> {
    if (this.desired && desired.generation <= this.desired.generation) {
      if (desired.generation < this.desired.generation) this.deps.log.warn(`ignored desired generation ${desired.generation}; have ${this.desired.generation}`);
      return;
    }
    await this.deps.state.saveDesired(desired);
    const dropped = (this.desired?.instances ?? []).filter((i) => !desired.instances.some((d) => d.id === i.id));
    this.desired = desired;
    // One that never ran (its start failed) has no remove step to release it.
    for (const i of dropped) {
      if (!this.observed.some((o) => o.id === i.id)) await this.deps.release(i.id).catch((err: unknown) => this.deps.log.warn(`${i.id}: ${(err as Error).message}`));
    }
    this.deps.log.info(`desired generation ${desired.generation}: ${desired.instances.length} instances`);
    // A newer goal cancels the apply in progress (a long pull, say); the next pass starts from it.
    this.current?.abort(new Error('superseded by a newer desired state'));
    this.kick();
  }

  /** Marks every instance of `workload` for a restart (not counted as a crash). */
  async requestRestart(workload: string): Promise<string[]> {
    const ids = (this.desired?.instances ?? []).filter((i) => i.workload === workload).map((i) => i.id);
    for (const id of ids) {
      const record = this.records.get(id) ?? { id, workload, restarts: 0, crashStreak: 0 };
      record.restartRequested = true;
      this.records.set(id, record);
    }
    await this.deps.state.saveRecords(this.records);
    this.kick();
    return ids;
  }

  /** Everything last observed (for metrics). */
  observedInstances(): ObservedInstance[] {
    return this.observed;
  }

  /** Instances of a workload as last observed here (for logs). */
  instancesOf(workload: string): ObservedInstance[] {
    return this.observed.filter((o) => o.workload === workload);
  }

  /** Sends the current report even if unchanged (after a reconnect). */
  async republish(): Promise<void> {
    this.lastReport = '';
    await this.report();
  }

  kick(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort(new Error('agent stopping'));
    this.kick();
    await this.loopDone;
    this.probes.stop();
    for (const u of this.unsubscribers) u();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.dirty = false;
      const controller = new AbortController();
      this.current = controller;
      let wakeAt: number | undefined;
      try {
        wakeAt = await this.pass(controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) this.deps.log.error(`reconcile pass failed: ${(err as Error).stack ?? String(err)}`);
      }
      if (this.dirty || this.stopped) continue;
      const resync = this.deps.resyncMs ?? 5000;
      const delay = Math.max(0, Math.min(resync, wakeAt === undefined ? resync : wakeAt - this.deps.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** One observe → plan → execute round; returns when the loop must look again at the latest. */
  private async pass(signal: AbortSignal): Promise<number | undefined> {
    this.observed = await this.observe();
    const desired = this.desired?.instances ?? [];
    const input = {
      now: this.deps.now(),
      desired,
      observed: this.observed,
      records: this.records,
      health: this.probes.health,
      runtimes: { container: this.deps.runtimes.container !== undefined, process: this.deps.runtimes.process !== undefined },
      backoff: this.deps.backoff,
    };
    const hold = holdForWindow(plan(input), this.desired, input.now);
    const steps = hold.steps;
    this.noteHeld(hold.held);
    this.probes.sync(
      this.observed.flatMap((o) => {
        const template = desired.find((d) => d.id === o.id && d.revision === o.revision)?.template;
        const runtime = this.deps.runtimes[o.runtime];
        return template && runtime ? [{ observed: o, template, runtime }] : [];
      }),
    );
    const acting = steps.filter((s) => s.kind !== 'wait');
    for (const step of acting) {
      if (signal.aborted) return undefined;
      await this.execute(step, signal);
      if (step.kind !== 'fail') this.dirty = true;
    }
    await this.report();
    return nextWake(steps);
  }

  /** Says once per held install (not on every pass) that it waits for the window. */
  private readonly heldLogged = new Set<string>();
  private noteHeld(held: ReadonlyMap<string, number | undefined>): void {
    for (const [id, until] of held) {
      if (this.heldLogged.has(id)) continue;
      this.heldLogged.add(id);
      this.deps.log.info(`instance ${id}: install waits for the maintenance window (opens ${until === undefined ? 'not within the search horizon' : new Date(until).toISOString()})`);
    }
    for (const id of this.heldLogged) if (!held.has(id)) this.heldLogged.delete(id);
  }

  private async execute(step: Step, signal: AbortSignal): Promise<void> {
    const run = this.executors[step.kind] as (s: Step, signal: AbortSignal) => Promise<void>;
    await run(step, signal);
  }

  private async observe(): Promise<ObservedInstance[]> {
    const all: ObservedInstance[] = [];
    for (const runtime of Object.values(this.deps.runtimes)) {
      // If a runtime cannot be listed, do not plan on a partial view: that would restart everything.
      if (runtime) all.push(...(await runtime.list()));
    }
    return all;
  }

  private async report(): Promise<void> {
    const instances = reportInstances({
      now: this.deps.now(),
      desired: this.desired?.instances ?? [],
      observed: this.observed,
      records: this.records,
      health: this.probes.health,
      activity: this.activity,
      failures: this.failures,
      runtimes: { container: this.deps.runtimes.container !== undefined, process: this.deps.runtimes.process !== undefined },
    });
    const body = JSON.stringify({ g: this.desired?.generation ?? 0, instances });
    if (body === this.lastReport) return;
    const sent = await this.deps.publishReport({ observedGeneration: this.desired?.generation ?? 0, time: new Date(this.deps.now()).toISOString(), instances }).catch(() => false);
    if (sent) this.lastReport = body;
  }
}
