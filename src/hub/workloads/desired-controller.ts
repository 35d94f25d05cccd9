import type { Logger } from '../../common/log.js';
import { releaseKey, topics, type DesiredConfig, type DesiredCronJob, type DesiredInstance, type DesiredJob, type DesiredState, type ReleaseConfigPin, type ReleaseRecord, type ReportedState } from '../../protocol/index.js';
import { applyReleasePins, releaseConfigPins, prefetchFirmware, prefetchInstances, windowsForDevice } from '../rollouts/release-pins.js';
import { idsInState } from '../../scheduler/rollout/index.js';
import { eventSubjects, type DeviceRecord, type PlacementRecord, type WorkloadRecord } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { WantedDocuments } from './wanted-documents.js';
import { QuietPassCheck } from './quiet-pass.js';
import { CanonicalCache } from './canonical-cache.js';
import { nextDesired, type NextDesiredContext } from './next-desired.js';
import { samePlacement } from './desired-comparison.js';
import { PlacementPassCache, runPlacementPass } from './placement-pass.js';
import { PassTimings } from './pass-timings.js';
import { DesiredPublisher } from './desired-publisher.js';
import { errorMessage, errorStack } from '../../common/errors.js';
import { leadershipLost, NotLeadingError } from '../leadership/leadership.js';

export interface DesiredControllerDeps {
  store: HubStore;
  publish(topic: string, payload: unknown, retain: boolean): Promise<void>;
  now: () => Date;
  log: Logger;
  /** Jobs and CronJobs (src/hub/jobs): the jobs part of each device's desired document. */
  jobs?: { any(): Promise<boolean>; plan(devices: readonly DeviceRecord[]): Promise<Map<string, { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] }>> };
  /**
   * After the pass's documents are stored, before they are published: Services (issue 14) send the
   * endpoints a device's new instances use first, so they are there when the instances start.
   */
  beforePublish?: () => Promise<void>;
  /**
   * ConfigMaps and Secrets (src/hub/config-objects): sets each instance's configRevision in `wanted`
   * and answers each device's configs (need to know; Secrets sealed to the device).
   */
  configs?: {
    any(published: Iterable<Readonly<DesiredState>>): Promise<boolean>;
    /** `pins`: per device, the versions its release pins; `moving`: a paced change is under way (config-pacing.ts). */
    attach(wanted: Map<string, DesiredInstance[]>, devices: readonly DeviceRecord[], jobParts: ReadonlyMap<string, { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] }> | undefined, pins: ReadonlyMap<string, readonly ReleaseConfigPin[]>, published: ReadonlyMap<string, Readonly<DesiredState>>, partial?: boolean): Promise<Map<string, DesiredConfig[]>>;
    readonly moving: boolean;
    /** When time alone moves a paced change next: a pass runs then. */
    readonly nextCheckAt?: number | undefined;
  };
}

/** `device/instance` of instances reported running and ready at the revision they were sent. */
function readyInstances(workloads: readonly WorkloadRecord[], published: ReadonlyMap<string, Readonly<DesiredState>>, reported: ReadonlyMap<string, Readonly<ReportedState>>): Set<string> {
  const revisions = new Map(workloads.map((w) => [w.name, w.revision]));
  const ready = new Set<string>();
  for (const [deviceId, desired] of published) {
    const seen = reported.get(deviceId)?.instances ?? [];
    for (const i of desired.instances) {
      if (seen.some((r) => r.id === i.id && r.revision === revisions.get(i.workload) && r.ready)) ready.add(`${deviceId}/${i.id}`);
    }
  }
  return ready;
}

/**
 * Device changes come in bursts (a registration storm): recompute at most this often, and
 * spend at most a fifth of the time in passes (a pass over 10,000 devices is not free). The
 * share is measured on the pass's wall time, which includes waiting for the store and the
 * broker, so it is capped: a slow pass must not hold every later one back by many seconds.
 * The cap was 1 s: in a 10,000-device restart storm, with passes of 3-5 s on a loaded machine,
 * that let passes take most of the hub's CPU while the fleet's CONNACKs and statuses waited.
 */
const MIN_INTERVAL_MS = 250;
const MAX_PASS_SHARE = 0.2;
const MAX_SHARE_DELAY_MS = 4000;

/**
 * After an API write: soon (the writes of a burst still share one pass), and without the share
 * above: an operator's apply is what the hub is for, and API writes are few (the apply that
 * waited 5× the previous pass's wall time was most of apply→running at 20,000 devices).
 */
const AFTER_WRITE_MS = 5;

/**
 * Turns workloads and placements into each device's whole desired document, and publishes a
 * new generation (retained) only to devices whose instances changed. Runs one pass at a time;
 * requests during a pass cause exactly one more pass.
 */
export class DesiredStateController {
  private running: Promise<void> | undefined;
  /** A whole pass is asked for (and the devices a targeted pass is asked for) while one runs. */
  private pendingFull = false;
  private pendingDevices = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  /** Callers waiting for the next pass to start and finish (`apply --wait`). */
  private waiting: (() => void)[] = [];
  /** Callers of republishAll() waiting for its turn (see there). */
  private republishing: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private readonly lastUnplaced = new Map<string, string>();
  private checkTimer: NodeJS.Timeout | undefined;
  private lastPassMs = 0;
  readonly unplacedReasons = new Map<string, string>();
  /** Durations of recent passes (for /v1/stats). */
  readonly timings = new PassTimings();
  /** The pass's caches for deciding each device's next document (next-desired.ts). */
  private readonly nextContext: NextDesiredContext;
  /** What the placement pass keeps between passes (compiled devices, placed instances). */
  private readonly placementCache = new PlacementPassCache();
  /** Each device's wanted instances, kept between passes; which devices may need a new document. */
  readonly documents = new WantedDocuments();
  /** Whether a pass's inputs are those of the last pass, which changed nothing: then there is nothing to do. */
  readonly quiet = new QuietPassCheck();
  /** While a device drains or a config change is paced, readiness reports decide the next step. */
  wantsReports = false;
  private readonly publisher: DesiredPublisher;

  constructor(private readonly deps: DesiredControllerDeps) {
    this.publisher = new DesiredPublisher(deps.publish, deps.log);
    this.nextContext = { canonical: new CanonicalCache(), documents: this.documents, now: deps.now, log: deps.log };
  }

  /** Asks for a pass soon; cheap to call on every change. */
  request(): void {
    this.schedule(Math.max(MIN_INTERVAL_MS, Math.min(MAX_SHARE_DELAY_MS, this.lastPassMs / MAX_PASS_SHARE)));
  }

  /**
   * Asks for a pass after a durable API write, and resolves once a pass that started after this
   * call has finished: that pass has seen the write. Many writes in a burst share one pass.
   * Never rejects (a failed pass is logged, and the next one tries again).
   */
  passAfterWrite(): Promise<void> {
    const done = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.schedule(AFTER_WRITE_MS);
    return done;
  }

  private schedule(delay: number): void {
    const due = Date.now() + delay;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      void this.reconcile();
    }, delay);
  }

  /** Runs a pass now (or right after the current one) and resolves when it is done. */
  reconcile(): Promise<void> {
    this.pendingFull = true;
    return this.drain();
  }

  /**
   * Recomputes and publishes the documents of these devices only, after a rollout changed their
   * pins: a pin changes what runs, never where (release-pins.ts), so placement is not run again
   * and a wave's cost follows its devices, not the fleet. Serialised with whole passes (one
   * generation number is never given out twice); a whole pass asked for meanwhile covers them.
   */
  reconcileDevices(deviceIds: Iterable<string>): Promise<void> {
    for (const id of deviceIds) this.pendingDevices.add(id);
    return this.drain();
  }

  private drain(): Promise<void> {
    // With something pending the loop awaits before it can end, so `running` is set first.
    if (!this.pendingFull && this.pendingDevices.size === 0 && this.republishing.length === 0) return this.running ?? Promise.resolve();
    this.running ??= this.passWhilePending();
    return this.running;
  }

  /**
   * Runs passes while any are asked for. The loop's last check and the reset of `running` are one
   * step: a caller answered by the last pass (passAfterWrite) may ask for another in its
   * continuation, which runs before a cleanup chained onto this promise would; with one, that ask
   * found a pass still "running", started none, and waited until some later change asked again.
   */
  private async passWhilePending(): Promise<void> {
    try {
      while (this.pendingFull || this.pendingDevices.size > 0 || this.republishing.length > 0) {
        if (this.republishing.length > 0) {
          const asked = this.republishing.splice(0);
          await this.publishStored().then(
            () => asked.forEach((a) => a.resolve()),
            (err: unknown) => asked.forEach((a) => a.reject(err)),
          );
          continue;
        }
        const full = this.pendingFull;
        const devices = this.pendingDevices;
        this.pendingFull = false;
        this.pendingDevices = new Set();
        // Those waiting now are served by this pass; later ones by the next (it reads the
        // store when it starts, so it may not have seen a write made while it ran).
        const served = full ? this.waiting : [];
        if (full) this.waiting = [];
        const started = Date.now();
        await (full ? this.pass() : this.targetedPass(devices)).catch((err: unknown) =>
          // Leadership moved on during the pass: expected, said in one line (the new leader carries on).
          leadershipLost(err) ? this.deps.log.warn(`desired state pass stopped: ${errorMessage(err)}`) : this.deps.log.error(`desired state pass failed: ${errorStack(err)}`),
        );
        if (full) this.lastPassMs = Date.now() - started;
        for (const resolve of served) resolve();
      }
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Publishes every stored desired document again (a broker that lost its retained messages: an
   * external one restarted, Redis restarted empty). Taken in turn with the passes: run beside
   * one, it could publish a document read before the pass stored a newer one after the pass had
   * published that newer one, and the broker would keep the older one retained. Rejects when a
   * publish failed (the caller tries again).
   */
  republishAll(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.republishing.push({ resolve, reject }));
    void this.drain();
    return done;
  }

  private async publishStored(): Promise<void> {
    // One at a time, as before: at start-up this competes with the fleet's reconnect storm.
    for (const [deviceId, desired] of await this.deps.store.deviceState.desiredSnapshot()) await this.deps.publish(topics.desired(deviceId), desired, true);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.checkTimer) clearTimeout(this.checkTimer);
    // Nobody is left to run the pass they wait for; the hub is going away.
    for (const resolve of this.waiting.splice(0)) resolve();
    for (const asked of this.republishing.splice(0)) asked.reject(new NotLeadingError('the controllers stopped before the stored documents were published again'));
  }

  private async pass(): Promise<void> {
    const { store, now, log } = this.deps;
    const passStarted = performance.now();
    const workloads = await store.workloads.list();
    // Read-only views of the store, not copies: a pass reads every device and every document.
    const published = await store.deviceState.desiredSnapshot();
    let idle = true;
    for (const d of published.values()) {
      if (d.instances.length === 0 && !d.jobs?.length && !d.cronJobs?.length) continue;
      idle = false;
      break;
    }
    if (workloads.length === 0 && idle && !(await this.deps.jobs?.any()) && !(await firmwareToFetchAhead(store)) && !(await this.deps.configs?.any(published.values()))) return;
    const devices = await store.devices.snapshot();
    this.wantsReports = this.quiet.draining(devices);
    // The stored records where the store can hand them out (their identity tells the pass what it saw before).
    const current = new Map(((await store.placements.snapshot?.()) ?? (await store.placements.list())).map((p) => [p.workload, p as PlacementRecord]));
    const pins = await store.releasePins.snapshot();
    const rollouts = await store.rollouts.snapshot();
    const extras = !!(await this.deps.jobs?.any()) || !!(await this.deps.configs?.any(published.values())) || pins.size > 0 || rollouts.length > 0;
    const inputs = { workloads, devices, placements: current, published, extras, now: now().getTime() };
    if (!this.wantsReports && this.quiet.same(inputs)) {
      // The same inputs as a pass that changed nothing: this one would change nothing either.
      const totalMs = performance.now() - passStarted;
      this.timings.record({ totalMs, placementMs: 0, devices: devices.length, workloads: workloads.length, published: 0 });
      return;
    }
    // Forgotten until this pass is done: a pass that fails half way is not known to have changed nothing.
    this.quiet.remember(undefined);
    // Readiness matters only while a device drains (it paces the moves): not read otherwise.
    const ready = this.wantsReports ? readyInstances(workloads, published, await store.deviceState.reportedSnapshot()) : new Set<string>();
    const placementStarted = performance.now();
    const result = runPlacementPass({ now: now().getTime(), devices, workloads, placements: current, published, ready, cache: this.placementCache });
    const placementMs = performance.now() - placementStarted;
    // Every change of the pass is made first and awaited together: they share one commit
    // instead of one commit each.
    const changedPlacements = [...result.placements].filter(([name, placement]) => !samePlacement(current.get(name), placement));
    await Promise.all(changedPlacements.map(([, placement]) => store.placements.put(placement)));
    const time = now().toISOString();
    for (const { workload, event } of result.events) await store.events.append(eventSubjects.workload(workload), { time, ...event });
    await this.recordUnplaced(workloads, result.unplaced);
    this.scheduleCheck(result.nextCheckAt);
    const wanted = extras ? this.documents.all(workloads, result, devices) : this.documents.dirty(workloads, result, devices, published);
    const sent = await this.publishChanged(devices, wanted, published, await this.deps.jobs?.plan(devices));
    if (!extras) this.documents.done(published, devices);
    // Remembered only when the pass changed nothing: the next pass with these inputs may then be skipped.
    const changedNothing = changedPlacements.length === 0 && result.events.length === 0 && sent === 0;
    this.quiet.remember(changedNothing && !this.deps.configs?.moving ? { ...inputs, nextCheckAt: earliest(result.nextCheckAt, this.deps.configs?.nextCheckAt) } : undefined);
    if (this.deps.configs?.moving) this.wantsReports = true;
    // A paced config change's next step may come from time alone (an instance stable, or late).
    const paceAt = this.deps.configs?.nextCheckAt;
    if (paceAt !== undefined && (result.nextCheckAt === undefined || paceAt < result.nextCheckAt)) this.scheduleCheck(paceAt);
    const totalMs = performance.now() - passStarted;
    this.timings.record({ totalMs, placementMs, devices: devices.length, workloads: workloads.length, published: sent });
    log.debug(`desired state pass: ${workloads.length} workloads, ${devices.length} devices, ${sent} published, ${totalMs.toFixed(1)} ms (placement ${placementMs.toFixed(1)} ms)`);
  }

  /**
   * A pass over some devices (reconcileDevices): each keeps the instances it was last sent (where
   * placement put them) with its workload's own template, then its pins apply as in a whole pass.
   * Jobs and cron jobs are placed across the fleet, so they stay as they were sent.
   */
  private async targetedPass(ids: ReadonlySet<string>): Promise<void> {
    const { store } = this.deps;
    const workloads = new Map((await store.workloads.list()).map((w) => [w.name, w]));
    const published = await store.deviceState.desiredSnapshot();
    const devices = (await store.devices.snapshot()).filter((d) => ids.has(d.id));
    const wanted = new Map<string, DesiredInstance[]>();
    const jobParts = new Map<string, { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] }>();
    for (const d of devices) {
      const current = published.get(d.id);
      wanted.set(d.id, unpinnedInstances(current?.instances ?? [], workloads));
      jobParts.set(d.id, { jobs: [...(current?.jobs ?? [])], cronJobs: [...(current?.cronJobs ?? [])] });
    }
    await this.publishChanged(devices, wanted, published, jobParts, true);
  }

  /**
   * From each device's instances (`wanted`, changed in place) to its next document: release pins,
   * maintenance windows and downloads ahead; stores and publishes the documents that changed.
   * Resolves to how many were published.
   */
  private async publishChanged(
    devices: readonly Readonly<DeviceRecord>[],
    wanted: Map<string, DesiredInstance[]>,
    published: ReadonlyMap<string, Readonly<DesiredState>>,
    jobParts: ReadonlyMap<string, { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] }> | undefined,
    /** A targeted pass: some devices only (a paced config change does not move on from it). */
    partial = false,
  ): Promise<number> {
    const { store } = this.deps;
    // Rollouts: a pinned device runs its release's templates (release-pins.ts), and gets the
    // maintenance windows that apply to it so that its agent keeps to them on its own.
    // Read-only views (a copy of a 10,000-device rollout and of every pin per pass was most of a
    // targeted pass's cost during a rollout).
    const pins = await store.releasePins.snapshot();
    const rollouts = await store.rollouts.snapshot();
    const releases = pins.size > 0 || rollouts.length > 0 ? new Map((await store.releases.list()).map((r) => [releaseKey(r.name, r.spec.version), r])) : new Map<string, ReleaseRecord>();
    if (pins.size > 0) applyReleasePins(wanted, pins, releases);
    // Devices waiting for their window download the release's revisions meanwhile.
    const prefetch = rollouts.length > 0 ? prefetchInstances(wanted, rollouts, releases) : new Map<string, DesiredInstance[]>();
    const firmwareAhead = rollouts.length > 0 ? prefetchFirmware(devices, rollouts, releases) : new Map<string, string[]>();
    // A gateway waiting for its window with only firmware to fetch gets a document too.
    for (const id of firmwareAhead.keys()) if (!wanted.has(id)) wanted.set(id, []);
    const windows = pins.size > 0 ? (await store.maintenanceWindows.list()).map((w) => w.spec) : [];
    const labels = windows.length > 0 ? new Map(devices.map((d) => [d.id, d.labels])) : undefined;
    const configs = (await this.deps.configs?.attach(wanted, devices, jobParts, releaseConfigPins(pins, releases), published, partial)) ?? new Map<string, DesiredConfig[]>();
    // A plain loop: this runs for every device on every pass, and most devices change nothing.
    const next: (readonly [string, DesiredState])[] = [];
    for (const [deviceId, instances] of wanted) {
      const deviceWindows = labels !== undefined && instances.some((i) => i.release !== undefined) ? windowsForDevice(windows, labels.get(deviceId) ?? {}) : [];
      const desired = nextDesired(this.nextContext, deviceId, { instances, jobParts: jobParts?.get(deviceId), windows: deviceWindows, prefetch: prefetch.get(deviceId), prefetchFirmware: firmwareAhead.get(deviceId), configs: configs.get(deviceId) }, published.get(deviceId));
      if (desired) next.push([deviceId, desired] as const);
    }
    // Stored before they are published: a generation number is never reused after a crash.
    // All of a pass's documents share one commit.
    this.publisher.storing(next);
    const kept = await Promise.all(next.map(([deviceId, desired]) => store.deviceState.putDesired(deviceId, desired)));
    // A device deleted while this pass ran gets no document, stored or published.
    const stored = next.filter((_, i) => kept[i]);
    if (stored.length < next.length) this.publisher.gone(next.filter((_, i) => !kept[i]).map(([deviceId]) => deviceId));
    if (stored.length > 0) await this.deps.beforePublish?.();
    await this.publisher.send(stored, published);
    return stored.length;
  }

  /** "0/5 devices fit: …" is an event once per change, and shown by get/describe while it holds. */
  private async recordUnplaced(workloads: readonly WorkloadRecord[], unplaced: ReadonlyMap<string, string>): Promise<void> {
    this.unplacedReasons.clear();
    for (const w of workloads) {
      const reason = unplaced.get(w.name);
      if (!reason) {
        this.lastUnplaced.delete(w.name);
        continue;
      }
      this.unplacedReasons.set(w.name, reason);
      if (this.lastUnplaced.get(w.name) === reason) continue;
      this.lastUnplaced.set(w.name, reason);
      await this.deps.store.events.append(eventSubjects.workload(w.name), { time: this.deps.now().toISOString(), type: 'Warning', reason: 'FailedScheduling', message: reason });
    }
  }

  /** Wakes a pass when an offline device's grace period runs out. */
  private scheduleCheck(at: number | undefined): void {
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
    if (at === undefined) return;
    this.checkTimer = setTimeout(() => this.request(), Math.max(0, at - this.deps.now().getTime()) + 50);
  }
}

/** Instances as placement last sent them, with their workload's own template (pins apply after); gone workloads left out. */
function unpinnedInstances(instances: readonly DesiredInstance[], workloads: ReadonlyMap<string, WorkloadRecord>): DesiredInstance[] {
  return instances.flatMap((i) => {
    const w = workloads.get(i.workload);
    return w ? [{ id: i.id, workload: w.name, revision: w.revision, template: w.spec.template }] : [];
  });
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/** A firmware-only rollout has gateways waiting for their window that fetch its images ahead. */
async function firmwareToFetchAhead(store: HubStore): Promise<boolean> {
  return (await store.rollouts.snapshot()).some((r) => idsInState(r.status.devices, 'waiting-window').length > 0);
}
