// What occupies each device at the start of a placement pass: placed replicas plus the
// `replicas: all` instances each device was sent. Computed from scratch (`occupancy`), or kept
// between passes by a PlacementPassCache and updated from what changed: the placements and
// workload revisions that differ from the last pass, and the devices whose published document
// differs. Both give the same lists in the same order (placement-pass-incremental.test.ts).
import { CompiledDeviceCache, placedInstance, type DeviceSnapshot, type PlacedInstance } from '../../scheduler/index.js';
import type { DesiredState } from '../../protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../store/records.js';
import { instanceId } from './desired-documents.js';

export const nothing: readonly PlacedInstance[] = Object.freeze([]);

/** What the scheduler sees of a device (also for Jobs and CronJobs, with no instances). */
export function snapshotOf(device: DeviceRecord, instances: readonly PlacedInstance[] = []): DeviceSnapshot {
  const online = device.status?.state === 'online';
  return {
    id: device.id,
    labels: device.labels,
    taints: device.taints,
    unschedulable: device.unschedulable,
    online,
    ready: online && device.facts !== undefined,
    ...(device.status === undefined ? { neverConnected: true } : {}),
    ...(!online && device.status ? { offlineSince: device.status.since } : {}),
    ...(device.facts ? { facts: device.facts } : {}),
    instances,
  };
}

/** What a placement contributed in the last pass (kept while the placement object and its workload's revision are the same). */
interface Contribution {
  placement: PlacementRecord;
  revision: string;
  /** Device → this workload's replicas on it, in ordinal order. */
  byDevice: Map<string, PlacedInstance[]>;
}

/** Replica `ordinal` of `workload` as the scheduler sees it. */
function replicaOf(workload: WorkloadRecord, ordinal: string, placement: PlacementRecord, cache: PlacementPassCache | undefined): PlacedInstance {
  const held = placement.peripherals?.[ordinal];
  return cache && !held?.length ? cache.replica(workload, ordinal) : placedInstance(instanceId(workload.name, Number(ordinal)), workload.name, workload.spec.template, held ?? []);
}

/** The `replicas: all` instances a published document holds, as the scheduler sees them. */
export function everyDeviceInstances(desired: Readonly<DesiredState>, byName: ReadonlyMap<string, WorkloadRecord>, shared: Map<string, PlacedInstance>): readonly PlacedInstance[] {
  let out: PlacedInstance[] | undefined;
  for (const instance of desired.instances) {
    const workload = byName.get(instance.workload);
    if (workload?.spec.replicas !== 'all') continue;
    // A `replicas: all` instance occupies every device alike: one object per workload, not per device.
    let placed = shared.get(instance.id);
    if (!placed) shared.set(instance.id, (placed = placedInstance(instance.id, workload.name, workload.spec.template)));
    (out ??= []).push(placed);
  }
  return out ?? nothing;
}

/**
 * Kept by the caller from one pass to the next, so that a pass over 20,000 devices does work for
 * what changed, not for the fleet: compiled devices (by record identity, see CompiledDeviceCache),
 * the placed-instance form of each replica (by workload revision: the revision is the template's
 * hash), each device's occupancy list and scheduler snapshot.
 */
export class PlacementPassCache {
  readonly devices = new CompiledDeviceCache();
  private readonly instances = new Map<string, { revision: string; byOrdinal: Map<string, PlacedInstance> }>();

  /** Replica `ordinal` of `workload` as the scheduler sees it (holding no peripherals). */
  replica(workload: WorkloadRecord, ordinal: string): PlacedInstance {
    let entry = this.instances.get(workload.name);
    if (!entry || entry.revision !== workload.revision) this.instances.set(workload.name, (entry = { revision: workload.revision, byOrdinal: new Map() }));
    let placed = entry.byOrdinal.get(ordinal);
    if (!placed) entry.byOrdinal.set(ordinal, (placed = placedInstance(instanceId(workload.name, Number(ordinal)), workload.name, workload.spec.template)));
    return placed;
  }

  /** Occupancy lists rebuilt in passes so far (tests count them: one dirty workload of 5 replicas rebuilds at most 10, not the fleet). */
  listsBuilt = 0;
  /** Scheduler snapshots built so far (an unchanged device gets none in the next pass). */
  snapshotsBuilt = 0;

  /** The scheduler's snapshot of a device, kept while its record (replaced whole on every write) and its occupancy list are the same objects. */
  snapshot(device: DeviceRecord, instances: readonly PlacedInstance[]): DeviceSnapshot {
    const known = this.snapshots.get(device);
    if (known?.instances === instances) return known.snapshot;
    this.snapshotsBuilt += 1;
    const snapshot = snapshotOf(device, instances);
    this.snapshots.set(device, { instances, snapshot });
    return snapshot;
  }

  /**
   * Each device's occupancy, in the order of `devices`, updated from the last pass: only devices
   * that hold replicas of a changed placement (before or after), whose published document is a
   * different object, or that are new get their list built again.
   */
  occupancy(devices: readonly DeviceRecord[], placements: ReadonlyMap<string, PlacementRecord>, byName: ReadonlyMap<string, WorkloadRecord>, published: ReadonlyMap<string, DesiredState>): (readonly PlacedInstance[])[] {
    const dirty = new Set<string>();
    this.forgetEveryDeviceIfChanged(byName);
    const order = new Map<string, number>();
    for (const placement of placements.values()) if (byName.has(placement.workload)) order.set(placement.workload, order.size);
    if (!sameOrder(order, this.order)) {
      // Lists follow the placements' order: a new order (rare: a workload added or deleted) builds every list again.
      this.order = order;
      this.allDirty = true;
    }
    for (const [name, held] of this.held) {
      const placement = placements.get(name);
      if (placement !== undefined && order.has(name) && placement === held.placement && byName.get(name)?.revision === held.revision) continue;
      for (const deviceId of held.byDevice.keys()) {
        dirty.add(deviceId);
        this.onDevice.get(deviceId)?.delete(name);
      }
      this.held.delete(name);
    }
    for (const name of order.keys()) {
      if (this.held.has(name)) continue;
      const placement = placements.get(name) as PlacementRecord;
      const workload = byName.get(name) as WorkloadRecord;
      const byDevice = new Map<string, PlacedInstance[]>();
      for (const ordinal in placement.replicas) {
        const deviceId = placement.replicas[ordinal] as string;
        const placed = replicaOf(workload, ordinal, placement, this);
        const list = byDevice.get(deviceId);
        if (list) list.push(placed);
        else byDevice.set(deviceId, [placed]);
      }
      for (const [deviceId, list] of byDevice) {
        dirty.add(deviceId);
        let mine = this.onDevice.get(deviceId);
        if (!mine) this.onDevice.set(deviceId, (mine = new Map()));
        mine.set(name, list);
      }
      this.held.set(name, { placement, revision: workload.revision, byDevice });
    }
    const out: (readonly PlacedInstance[])[] = new Array(devices.length);
    for (let i = 0; i < devices.length; i++) {
      const id = (devices[i] as DeviceRecord).id;
      const document = published.get(id);
      const known = this.lists.get(id);
      if (known !== undefined && !this.allDirty && known.document === document && !dirty.has(id)) {
        out[i] = known.list;
        continue;
      }
      const list = this.listOf(id, document, byName, order);
      out[i] = known !== undefined && sameList(known.list, list) ? known.list : list;
      this.lists.set(id, { document, list: out[i] as readonly PlacedInstance[] });
    }
    this.allDirty = false;
    if (this.lists.size > devices.length) {
      const ids = new Set(devices.map((d) => d.id));
      for (const id of this.lists.keys()) if (!ids.has(id)) this.lists.delete(id);
    }
    return out;
  }

  /** One device's list, as `occupancy` below builds it: its replicas in placement order, then its `replicas: all` instances. */
  private listOf(id: string, document: Readonly<DesiredState> | undefined, byName: ReadonlyMap<string, WorkloadRecord>, order: ReadonlyMap<string, number>): readonly PlacedInstance[] {
    this.listsBuilt += 1;
    const every = document === undefined ? nothing : this.everyDevice(document, byName);
    const mine = this.onDevice.get(id);
    if (mine === undefined || mine.size === 0) return every;
    const names = [...mine.keys()];
    if (names.length > 1) names.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
    const own: PlacedInstance[] = [];
    for (const name of names) own.push(...(mine.get(name) as PlacedInstance[]));
    if (every.length > 0) own.push(...every);
    return own;
  }

  /** The `replicas: all` instances of a published document, kept by the document's identity while every `replicas: all` workload keeps its revision. */
  private everyDevice(desired: Readonly<DesiredState>, byName: ReadonlyMap<string, WorkloadRecord>): readonly PlacedInstance[] {
    let known = this.byDocument.get(desired);
    if (!known) this.byDocument.set(desired, (known = everyDeviceInstances(desired, byName, this.everyShared)));
    return known;
  }

  /** Forgets workloads that are gone; starts the per-document lists over when a `replicas: all` workload changed. */
  private forgetEveryDeviceIfChanged(workloads: ReadonlyMap<string, WorkloadRecord>): void {
    for (const name of this.instances.keys()) if (!workloads.has(name)) this.instances.delete(name);
    let signature = '';
    for (const w of workloads.values()) if (w.spec.replicas === 'all') signature += `${w.name}@${w.revision},`;
    if (signature === this.everySignature) return;
    this.everySignature = signature;
    this.byDocument = new WeakMap();
    this.everyShared = new Map();
    this.allDirty = true;
  }

  private readonly held = new Map<string, Contribution>();
  private readonly onDevice = new Map<string, Map<string, PlacedInstance[]>>();
  private readonly lists = new Map<string, { document: Readonly<DesiredState> | undefined; list: readonly PlacedInstance[] }>();
  private order = new Map<string, number>();
  private allDirty = true;
  private readonly snapshots = new WeakMap<DeviceRecord, { instances: readonly PlacedInstance[]; snapshot: DeviceSnapshot }>();
  private everySignature = '';
  private byDocument = new WeakMap<Readonly<DesiredState>, readonly PlacedInstance[]>();
  private everyShared = new Map<string, PlacedInstance>();
}

function sameOrder(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, i] of a) if (b.get(name) !== i) return false;
  return true;
}

function sameList(a: readonly PlacedInstance[], b: readonly PlacedInstance[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The same lists computed from scratch (no cache): in the order of `devices`, each device's
 * replicas in placement order, then its `replicas: all` instances.
 */
export function occupancy(devices: readonly DeviceRecord[], placements: ReadonlyMap<string, PlacementRecord>, byName: ReadonlyMap<string, WorkloadRecord>, published: ReadonlyMap<string, DesiredState>): (readonly PlacedInstance[])[] {
  const replicasOn = new Map<string, PlacedInstance[]>();
  for (const placement of placements.values()) {
    const workload = byName.get(placement.workload);
    if (!workload) continue;
    for (const ordinal in placement.replicas) {
      const deviceId = placement.replicas[ordinal] as string;
      const placed = replicaOf(workload, ordinal, placement, undefined);
      const list = replicasOn.get(deviceId);
      if (list) list.push(placed);
      else replicasOn.set(deviceId, [placed]);
    }
  }
  const shared = new Map<string, PlacedInstance>();
  return devices.map((device) => {
    const desired = published.get(device.id);
    const every = desired === undefined ? nothing : everyDeviceInstances(desired, byName, shared);
    const own = replicasOn.get(device.id);
    return own === undefined ? every : every.length === 0 ? own : (own.push(...every), own);
  });
}
