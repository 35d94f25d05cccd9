import type { Logger } from '../../common/log.js';
import { payloadLimits, releaseKey, topics, type DesiredInstance, type DesiredState, type MaintenanceWindow, type ReportedState } from '../../protocol/index.js';
import { applyReleasePins, windowsForDevice } from '../rollouts/release-pins.js';
import { eventSubjects, type WorkloadRecord } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { buildDesiredInstances } from './desired-documents.js';
import { canonicalJson } from './revision.js';
import { runPlacementPass } from './placement-pass.js';

export interface DesiredControllerDeps {
  store: HubStore;
  publish(topic: string, payload: unknown, retain: boolean): Promise<void>;
  now: () => Date;
  log: Logger;
}

/** `device/instance` of instances reported running and ready at the revision they were sent. */
function readyInstances(workloads: readonly WorkloadRecord[], published: ReadonlyMap<string, DesiredState>, reported: ReadonlyMap<string, ReportedState>): Set<string> {
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
 * spend at most a fifth of the time in passes (a pass over 10,000 devices is not free).
 */
const MIN_INTERVAL_MS = 250;
const MAX_PASS_SHARE = 0.2;

/**
 * Turns workloads and placements into each device's whole desired document, and publishes a
 * new generation (retained) only to devices whose instances changed. Runs one pass at a time;
 * requests during a pass cause exactly one more pass.
 */
export class DesiredStateController {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly lastUnplaced = new Map<string, string>();
  private checkTimer: NodeJS.Timeout | undefined;
  private lastPassMs = 0;
  readonly unplacedReasons = new Map<string, string>();
  /** While a device drains, readiness reports decide when the next replica may move. */
  wantsReports = false;

  constructor(private readonly deps: DesiredControllerDeps) {}

  /** Asks for a pass soon; cheap to call on every change. */
  request(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.reconcile();
    }, Math.max(MIN_INTERVAL_MS, this.lastPassMs / MAX_PASS_SHARE));
  }

  /** Runs a pass now (or right after the current one) and resolves when it is done. */
  async reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        const started = Date.now();
        await this.pass().catch((err: unknown) => this.deps.log.error(`desired state pass failed: ${(err as Error).stack ?? String(err)}`));
        this.lastPassMs = Date.now() - started;
      } while (this.again);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The embedded broker forgets retained messages when the hub restarts: publish them again. */
  async republishAll(): Promise<void> {
    for (const [deviceId, desired] of await this.deps.store.deviceState.allDesired()) {
      await this.deps.publish(topics.desired(deviceId), desired, true);
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.checkTimer) clearTimeout(this.checkTimer);
  }

  private async pass(): Promise<void> {
    const { store, now, log } = this.deps;
    const workloads = await store.workloads.list();
    const published = await store.deviceState.allDesired();
    if (workloads.length === 0 && [...published.values()].every((d) => d.instances.length === 0)) return;
    const devices = await store.devices.list();
    this.wantsReports = devices.some((d) => d.draining);
    const current = new Map((await store.placements.list()).map((p) => [p.workload, p]));
    const ready = readyInstances(workloads, published, await store.deviceState.allReported());
    const result = runPlacementPass({ now: now().getTime(), devices, workloads, placements: current, published, ready });
    for (const [name, placement] of result.placements) {
      if (canonicalJson(current.get(name)) !== canonicalJson(placement)) await store.placements.put(placement);
    }
    const time = now().toISOString();
    for (const { workload, event } of result.events) await store.events.append(eventSubjects.workload(workload), { time, ...event });
    await this.recordUnplaced(workloads, result.unplaced);
    this.scheduleCheck(result.nextCheckAt);
    const wanted = buildDesiredInstances(workloads, result.placements, result.everyDevice, devices);
    // Rollouts: a pinned device runs its release's templates (release-pins.ts), and gets the
    // maintenance windows that apply to it so that its agent keeps to them on its own.
    const pins = await store.releasePins.all();
    if (pins.size > 0) applyReleasePins(wanted, pins, new Map((await store.releases.list()).map((r) => [releaseKey(r.name, r.spec.version), r])));
    const windows = pins.size > 0 ? (await store.maintenanceWindows.list()).map((w) => w.spec) : [];
    const labels = new Map(devices.map((d) => [d.id, d.labels]));
    for (const [deviceId, instances] of wanted) {
      const deviceWindows = instances.some((i) => i.release !== undefined) ? windowsForDevice(windows, labels.get(deviceId) ?? {}) : [];
      await this.sendIfChanged(deviceId, instances, published.get(deviceId), deviceWindows);
    }
    log.debug(`desired state pass: ${workloads.length} workloads, ${devices.length} devices`);
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

  private async sendIfChanged(deviceId: string, instances: DesiredInstance[], current: DesiredState | undefined, windows: MaintenanceWindow[] = []): Promise<void> {
    if (current && canonicalJson(current.instances) === canonicalJson(instances) && canonicalJson(current.maintenanceWindows ?? []) === canonicalJson(windows)) return;
    if (!current && instances.length === 0) return;
    const desired: DesiredState = {
      generation: (current?.generation ?? 0) + 1,
      issuedAt: this.deps.now().toISOString(),
      instances,
      ...(windows.length > 0 ? { maintenanceWindows: windows } : {}),
    };
    const size = Buffer.byteLength(JSON.stringify(desired));
    if (size > payloadLimits.desired) {
      this.deps.log.error(`desired state for ${deviceId} is ${size} bytes, over the ${payloadLimits.desired} limit; not sent`);
      return;
    }
    // Stored before it is published: a generation number is never reused after a crash.
    await this.deps.store.deviceState.putDesired(deviceId, desired);
    await this.deps.publish(topics.desired(deviceId), desired, true);
    this.deps.log.info(`device ${deviceId}: desired generation ${desired.generation} (${instances.length} instances)`);
  }
}
