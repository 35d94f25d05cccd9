import type { Logger } from '../../common/log.js';
import { payloadLimits, topics, type DesiredInstance, type DesiredState } from '../../protocol/index.js';
import { eventSubjects, type DeviceRecord, type PlacementRecord, type WorkloadRecord } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { buildDesiredInstances } from './desired-documents.js';
import { canonicalJson } from './revision.js';
import type { PlacementDecision } from './simple-placement.js';

export type PlaceReplicas = (workload: WorkloadRecord, devices: readonly DeviceRecord[], current: PlacementRecord | undefined, now: Date) => PlacementDecision;

export interface DesiredControllerDeps {
  store: HubStore;
  publish(topic: string, payload: unknown, retain: boolean): Promise<void>;
  place: PlaceReplicas;
  now: () => Date;
  log: Logger;
}

/** Device changes come in bursts (a registration storm): recompute at most this often. */
const MIN_INTERVAL_MS = 250;

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
  readonly unplacedReasons = new Map<string, string>();

  constructor(private readonly deps: DesiredControllerDeps) {}

  /** Asks for a pass soon; cheap to call on every change. */
  request(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.reconcile();
    }, MIN_INTERVAL_MS);
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
        await this.pass().catch((err: unknown) => this.deps.log.error(`desired state pass failed: ${(err as Error).stack ?? String(err)}`));
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
  }

  private async pass(): Promise<void> {
    const { store, now, log } = this.deps;
    const workloads = await store.workloads.list();
    const published = await store.deviceState.allDesired();
    if (workloads.length === 0 && [...published.values()].every((d) => d.instances.length === 0)) return;
    const devices = await store.devices.list();
    const placements = new Map((await store.placements.list()).map((p) => [p.workload, p]));
    for (const workload of workloads) {
      if (workload.spec.replicas === 'all') continue;
      const current = placements.get(workload.name);
      const decision = this.deps.place(workload, devices, current, now());
      await this.recordPlacement(workload, current, decision);
      placements.set(workload.name, { workload: workload.name, replicas: decision.replicas });
    }
    const wanted = buildDesiredInstances(workloads, placements, devices);
    for (const [deviceId, instances] of wanted) {
      await this.sendIfChanged(deviceId, instances, published.get(deviceId));
    }
    log.debug(`desired state pass: ${workloads.length} workloads, ${devices.length} devices`);
  }

  private async recordPlacement(workload: WorkloadRecord, current: PlacementRecord | undefined, decision: PlacementDecision): Promise<void> {
    const { store, now } = this.deps;
    const subject = eventSubjects.workload(workload.name);
    const before = current?.replicas ?? {};
    if (canonicalJson(before) !== canonicalJson(decision.replicas)) {
      await store.placements.put({ workload: workload.name, replicas: decision.replicas });
      for (const [ordinal, deviceId] of Object.entries(decision.replicas)) {
        if (before[ordinal] === deviceId) continue;
        await store.events.append(subject, { time: now().toISOString(), type: 'Normal', reason: 'Scheduled', message: `replica ${ordinal} placed on ${deviceId}` });
      }
    }
    if (decision.unplacedReason) this.unplacedReasons.set(workload.name, decision.unplacedReason);
    else this.unplacedReasons.delete(workload.name);
    if (decision.unplacedReason && this.lastUnplaced.get(workload.name) !== decision.unplacedReason) {
      await store.events.append(subject, { time: now().toISOString(), type: 'Warning', reason: 'FailedScheduling', message: decision.unplacedReason });
    }
    if (decision.unplacedReason) this.lastUnplaced.set(workload.name, decision.unplacedReason);
    else this.lastUnplaced.delete(workload.name);
  }

  private async sendIfChanged(deviceId: string, instances: DesiredInstance[], current: DesiredState | undefined): Promise<void> {
    if (current && canonicalJson(current.instances) === canonicalJson(instances)) return;
    if (!current && instances.length === 0) return;
    const desired: DesiredState = { generation: (current?.generation ?? 0) + 1, issuedAt: this.deps.now().toISOString(), instances };
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
