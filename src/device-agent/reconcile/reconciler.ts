import { CoalescingWriter } from '../../common/durable-file.js';
import type { Logger } from '../../common/log.js';
import type { DesiredInstance, DesiredState, ReportedState } from '../../protocol/index.js';
import type { InstanceRuntime, ObservedInstance } from '../runtime/runtime.js';
import { holdForWindow, prefetchCandidates, prefetchSteps } from './window-hold.js';
import { createExecutors, type Executors } from './executors.js';
import { lanesOf, runBounded } from './lanes.js';
import type { LocalState } from './local-state.js';
import { prefetchKey, type BackoffPolicy, type EventSink, type InstanceRecord, type PrefetchRecord, type Step } from './model.js';
import { nextWake, plan } from './planner.js';
import { ProbeManager } from './probes.js';
import { reportInstances, type Activity } from './report.js';
import { errorMessage, errorStack } from '../../common/errors.js';

export interface ReconcilerDeps {
  decorate(instance: DesiredInstance): Promise<DesiredInstance>;
  /** Undoes `decorate` (the metrics folder) once an instance is no longer desired here. */
  release(instanceId: string): Promise<void>;
  /** ConfigMap and Secret files per instance (src/device-agent/config-objects). */
  configFiles?: {
    wanted(instances: readonly DesiredInstance[]): { wanted: Map<string, string>; unresolved: Set<string> };
    readonly written: ReadonlyMap<string, string>;
    update(instance: DesiredInstance): Promise<boolean>;
  };
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
  /**
   * How many instances are started (or stopped) at once. Docker does a container's create and
   * start in a few round trips of mostly waiting, so a few at once finish sooner; a bound keeps
   * a small board's engine and disk from being asked for everything at the same instant.
   */
  parallelStarts?: number;
}

/** Default bound on instances acted on at once (see `parallelStarts`). */
export const DEFAULT_PARALLEL_STARTS = 4;

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
  private readonly prefetched = new Map<string, PrefetchRecord>();
  /** What the last pass wanted downloaded ahead (reported with its state). */
  private prefetching: DesiredInstance[] = [];
  private readonly probes: ProbeManager;
  private readonly executors: Executors;
  private observed: ObservedInstance[] = [];
  private dirty = true;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private current: AbortController | undefined;
  /** The desired document being stored; the next waits for it (see setDesired). */
  private accepting: Promise<void> = Promise.resolve();
  private loopDone: Promise<void> | undefined;
  private lastReport = '';
  private unsubscribers: (() => void)[] = [];
  /** Several starts finishing together cost one durable write of the records, not one each. */
  private readonly recordsWriter: CoalescingWriter;
  private reportQueued = false;
  private reporting: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ReconcilerDeps) {
    this.recordsWriter = new CoalescingWriter(() => deps.state.saveRecords(this.records));
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
      ...(deps.configFiles ? { configFiles: deps.configFiles } : {}),
      saveRecords: () => this.recordsWriter.write(),
      onStarted: (started) => {
        this.observed = [...this.observed.filter((o) => !(o.id === started.id && o.revision === started.revision)), started];
        this.reportSoon();
      },
      onRemoved: (id, revision) => {
        this.observed = this.observed.filter((o) => !(o.id === id && o.revision === revision));
      },
      activity: this.activity,
      failures: this.failures,
      prefetched: this.prefetched,
      event: deps.event,
      now: deps.now,
      backoff: deps.backoff,
      log: deps.log,
    });
  }

  /** The ConfigMaps and Secrets of the current desired document (Secrets sealed). */
  get configs(): DesiredState['configs'] {
    return this.desired?.configs;
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

  /**
   * A desired document from the hub: stored first, then applied. Older generations are ignored.
   * One at a time, in arrival order: two documents arriving together (a redelivery after a reconnect
   * next to the retained one) both passed the generation check before either was stored, and the one
   * whose save finished last won, so an older generation could replace a newer one for good (found
   * by test/nemesis with reordered deliveries).
   */
  setDesired(desired: DesiredState): Promise<void> {
    const next = this.accepting.then(() => this.acceptDesired(desired));
    this.accepting = next.catch(() => undefined);
    return next;
  }

  private async acceptDesired(desired: DesiredState): Promise<void> {
    if (this.desired && desired.generation <= this.desired.generation) {
      if (desired.generation < this.desired.generation) this.deps.log.warn(`ignored desired generation ${desired.generation}; have ${this.desired.generation}`);
      return;
    }
    await this.deps.state.saveDesired(desired);
    const dropped = (this.desired?.instances ?? []).filter((i) => !desired.instances.some((d) => d.id === i.id));
    this.desired = desired;
    // One that never ran (its start failed) has no remove step to release it.
    for (const i of dropped) {
      if (!this.observed.some((o) => o.id === i.id)) await this.deps.release(i.id).catch((err: unknown) => this.deps.log.warn(`${i.id}: ${errorMessage(err)}`));
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
    await this.recordsWriter.write();
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
    await this.queueReport();
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
    // What the last starts changed is on disk, and the last report was handed over, before the agent goes.
    await this.recordsWriter.idle();
    await this.reporting;
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
        if (!controller.signal.aborted) this.deps.log.error(`reconcile pass failed: ${errorStack(err)}`);
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
      ...(this.deps.configFiles ? { configFiles: { ...this.deps.configFiles.wanted(desired), written: this.deps.configFiles.written } } : {}),
    };
    const hold = holdForWindow(plan(input), this.desired, input.now);
    this.noteHeld(hold.held);
    // Downloads come after the plan's own steps: what may run now goes first.
    this.prefetching = prefetchCandidates(this.desired, hold.held);
    const wanted = new Set(this.prefetching.map(prefetchKey));
    for (const key of this.prefetched.keys()) if (!wanted.has(key)) this.prefetched.delete(key);
    const steps = [...hold.steps, ...prefetchSteps(this.prefetching, this.prefetched, input.now)];
    this.probes.sync(
      this.observed.flatMap((o) => {
        const template = desired.find((d) => d.id === o.id && d.revision === o.revision)?.template;
        const runtime = this.deps.runtimes[o.runtime];
        return template && runtime ? [{ observed: o, template, runtime }] : [];
      }),
    );
    // Removals first, then installs; each lane (one instance's steps, in plan order) runs on its
    // own, up to `parallelStarts` lanes at once. Each start reports as soon as it is running.
    const lanes = lanesOf(steps);
    const limit = this.deps.parallelStarts ?? DEFAULT_PARALLEL_STARTS;
    const runLane = async (lane: Step[]): Promise<void> => {
      for (const step of lane) {
        if (signal.aborted) return;
        await this.execute(step, signal);
        if (step.kind !== 'fail') this.dirty = true;
      }
    };
    await runBounded(lanes.release, limit, signal, runLane);
    if (signal.aborted) return undefined;
    await runBounded(lanes.install, limit, signal, runLane);
    if (signal.aborted) return undefined;
    await this.queueReport();
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

  /** A report at the end of this tick: starts that finish together are sent as one report. */
  private reportSoon(): void {
    if (this.reportQueued) return;
    this.reportQueued = true;
    setImmediate(() => {
      this.reportQueued = false;
      void this.queueReport();
    });
  }

  /** Reports one after another, so an older view is never published after a newer one. */
  private queueReport(): Promise<void> {
    this.reporting = this.reporting.then(() => this.report()).catch((err: unknown) => this.deps.log.warn(`report failed: ${errorMessage(err)}`));
    return this.reporting;
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
    const prefetched = this.prefetching.flatMap((i) => {
      const r = this.prefetched.get(prefetchKey(i));
      return r === undefined ? [] : [{ id: r.id, revision: r.revision, state: r.state, ...(r.error !== undefined ? { error: r.error } : {}) }];
    });
    const extra = prefetched.length > 0 ? { prefetched } : {};
    const body = JSON.stringify({ g: this.desired?.generation ?? 0, instances, ...extra });
    if (body === this.lastReport) return;
    const sent = await this.deps.publishReport({ observedGeneration: this.desired?.generation ?? 0, time: new Date(this.deps.now()).toISOString(), instances, ...extra }).catch(() => false);
    if (sent) this.lastReport = body;
  }
}
