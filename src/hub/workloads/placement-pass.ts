import {
  decideEvictions,
  disruptionBudget,
  planDrain,
  type DisruptionBudget,
  FleetState,
  CompiledDeviceCache,
  formatUnfitSummary,
  placedInstance,
  planEveryDeviceOnFleet,
  type DeviceSnapshot,
  type PlacedInstance,
} from '../../scheduler/index.js';
import type { DesiredState, DeviceEvent } from '../../protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../store/records.js';
import { instanceId } from './desired-documents.js';
import { effectiveReplicas } from './autoscaler.js';

export interface PlacementPassInput {
  now: number;
  devices: readonly DeviceRecord[];
  workloads: readonly WorkloadRecord[];
  placements: ReadonlyMap<string, PlacementRecord>;
  /** What each device was last sent: tells which devices run a `replicas: all` instance. */
  published: ReadonlyMap<string, DesiredState>;
  /** `device/instance` of every instance running and ready at its workload's current revision (read only while a device drains). */
  ready: ReadonlySet<string>;
  /** What the caller keeps between passes (compiled devices, placed instances); the pass decides the same without it. */
  cache?: PlacementPassCache;
}

/**
 * Kept by the caller from one pass to the next, so that a pass over 20,000 devices allocates for
 * what changed, not for the fleet: compiled devices (by record identity, see CompiledDeviceCache)
 * and the placed-instance form of each replica (by workload revision: the revision is the
 * template's hash, and a placed instance is derived from the template alone).
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

  /**
   * The `replicas: all` instances of a published document, kept by the document's identity
   * (the store replaces a device's document whole when it sends a new one) while every
   * `replicas: all` workload keeps its revision.
   */
  everyDevice(desired: Readonly<DesiredState>, byName: ReadonlyMap<string, WorkloadRecord>): readonly PlacedInstance[] {
    let known = this.byDocument.get(desired);
    if (!known) this.byDocument.set(desired, (known = everyDeviceInstances(desired, byName, this.everyShared)));
    return known;
  }

  /** Forgets workloads that are gone; starts the per-document lists over when a `replicas: all` workload changed. */
  retainOnly(workloads: ReadonlyMap<string, WorkloadRecord>): void {
    for (const name of this.instances.keys()) if (!workloads.has(name)) this.instances.delete(name);
    let signature = '';
    for (const w of workloads.values()) if (w.spec.replicas === 'all') signature += `${w.name}@${w.revision},`;
    if (signature !== this.everySignature) {
      this.everySignature = signature;
      this.byDocument = new WeakMap();
      this.everyShared = new Map();
    }
  }

  /**
   * Each device's occupancy list from the last pass: kept while it holds the same instances, so
   * that the scheduler snapshot built from it (below) can be kept too.
   */
  sameAsBefore(deviceId: string, instances: readonly PlacedInstance[]): readonly PlacedInstance[] {
    const before = this.lists.get(deviceId);
    if (before !== undefined && before.length === instances.length && before.every((x, i) => x === instances[i])) return before;
    this.lists.set(deviceId, instances);
    return instances;
  }

  /** The scheduler's snapshot of a device, kept while its record (replaced whole on every write) and its occupancy list are the same objects. */
  snapshot(device: DeviceRecord, instances: readonly PlacedInstance[]): DeviceSnapshot {
    const known = this.snapshots.get(device);
    if (known?.instances === instances) return known.snapshot;
    this.snapshotsBuilt += 1;
    const snapshot = snapshotOf(device, instances);
    this.snapshots.set(device, { instances, snapshot });
    return snapshot;
  }

  /** Snapshots built so far (tests count them: an unchanged device gets none in the next pass). */
  snapshotsBuilt = 0;

  /** Forgets devices that left the fleet. */
  retainDevices(devices: readonly DeviceRecord[]): void {
    if (this.lists.size <= devices.length) return;
    const ids = new Set(devices.map((d) => d.id));
    for (const id of this.lists.keys()) if (!ids.has(id)) this.lists.delete(id);
  }

  private readonly lists = new Map<string, readonly PlacedInstance[]>();
  private readonly snapshots = new WeakMap<DeviceRecord, { instances: readonly PlacedInstance[]; snapshot: DeviceSnapshot }>();
  private everySignature = '';
  private byDocument = new WeakMap<Readonly<DesiredState>, readonly PlacedInstance[]>();
  private everyShared = new Map<string, PlacedInstance>();
}

export interface WorkloadEvent {
  workload: string;
  event: Omit<DeviceEvent, 'time'>;
}

export interface PlacementPassResult {
  placements: Map<string, PlacementRecord>;
  /** `replicas: all` workload → the devices that run it. */
  everyDevice: Map<string, Set<string>>;
  unplaced: Map<string, string>;
  events: WorkloadEvent[];
  /** When an offline device's grace period ends next: run a pass then. */
  nextCheckAt: number | undefined;
}

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

const nothing: readonly PlacedInstance[] = Object.freeze([]);

/** The `replicas: all` instances a published document holds, as the scheduler sees them. */
function everyDeviceInstances(desired: Readonly<DesiredState>, byName: ReadonlyMap<string, WorkloadRecord>, shared: Map<string, PlacedInstance>): readonly PlacedInstance[] {
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
 * What occupies each device (in the order of `input.devices`): placed replicas plus the
 * `replicas: all` instances it was sent. Lists are read-only (shared between passes).
 */
function occupancy(input: PlacementPassInput, placements: ReadonlyMap<string, PlacementRecord>): (readonly PlacedInstance[])[] {
  const byName = new Map(input.workloads.map((w) => [w.name, w]));
  input.cache?.retainOnly(byName);
  const replicasOn = new Map<string, PlacedInstance[]>();
  for (const placement of placements.values()) {
    const workload = byName.get(placement.workload);
    if (!workload) continue;
    for (const ordinal in placement.replicas) {
      const deviceId = placement.replicas[ordinal] as string;
      const held = placement.peripherals?.[ordinal];
      const placed =
        input.cache && !held?.length ? input.cache.replica(workload, ordinal) : placedInstance(instanceId(workload.name, Number(ordinal)), workload.name, workload.spec.template, held ?? []);
      const list = replicasOn.get(deviceId);
      if (list) list.push(placed);
      else replicasOn.set(deviceId, [placed]);
    }
  }
  const shared = new Map<string, PlacedInstance>();
  const out: (readonly PlacedInstance[])[] = new Array(input.devices.length);
  for (let i = 0; i < input.devices.length; i++) {
    const device = input.devices[i] as DeviceRecord;
    const desired = input.published.get(device.id);
    const every = desired === undefined ? nothing : input.cache ? input.cache.everyDevice(desired, byName) : everyDeviceInstances(desired, byName, shared);
    const own = replicasOn.get(device.id);
    // `own` is this pass's own list: extended in place rather than copied.
    const list = own === undefined ? every : every.length === 0 ? own : (own.push(...every), own);
    out[i] = input.cache && own !== undefined ? input.cache.sameAsBefore(device.id, list) : list;
  }
  input.cache?.retainDevices(input.devices);
  return out;
}

/** Moves replicas off draining devices as far as each workload's maxUnavailable allows now. */
function drainDevices(input: PlacementPassInput, placements: ReadonlyMap<string, PlacementRecord>, writable: (name: string) => PlacementRecord | undefined, events: WorkloadEvent[]): boolean {
  if (!input.devices.some((d) => d.draining)) return false;
  const byName = new Map(input.workloads.map((w) => [w.name, w]));
  const budgets = new Map<string, DisruptionBudget>();
  for (const workload of input.workloads) {
    const placement = placements.get(workload.name);
    const wanted = effectiveReplicas(workload, placement?.autoscaledReplicas);
    if (wanted === 'all') {
      budgets.set(workload.name, disruptionBudget({ ...workload.spec, replicas: 'all' }, 0));
      continue;
    }
    const ready = Object.entries(placement?.replicas ?? {}).filter(([o, d]) => input.ready.has(`${d}/${instanceId(workload.name, Number(o))}`)).length;
    budgets.set(workload.name, disruptionBudget({ ...workload.spec, replicas: wanted }, Math.max(0, wanted - ready)));
  }
  const occupied = occupancy(input, placements);
  for (let i = 0; i < input.devices.length; i++) {
    const device = input.devices[i] as DeviceRecord;
    if (!device.draining) continue;
    const instances = occupied[i] ?? nothing;
    const notReady = new Set(instances.filter((i) => !input.ready.has(`${device.id}/${i.id}`)).map((i) => i.id));
    const plan = planDrain({ device: snapshotOf(device, instances), budgets, notReady });
    for (const item of plan.move) {
      const workload = byName.get(item.workload);
      const ordinal = item.instanceId.slice(item.workload.length + 1);
      if (!workload || placements.get(item.workload)?.replicas[ordinal] !== device.id) continue;
      const placement = writable(item.workload) as PlacementRecord;
      delete placement.replicas[ordinal];
      delete placement.peripherals?.[ordinal];
      events.push({ workload: item.workload, event: { type: 'Normal', reason: 'Drained', message: `replica ${ordinal} leaves ${device.id} (${item.reason})` } });
    }
  }
  return true;
}

/**
 * One placement pass over the whole fleet, pure: evict replicas from devices offline past
 * their grace, then place what is missing with the scheduler, `replicas: all` workloads first
 * (like daemon pods), then `replicas: N` ones in name order. Every decision comes with an event.
 */
export function runPlacementPass(input: PlacementPassInput): PlacementPassResult {
  const events: WorkloadEvent[] = [];
  // Copied on first write (input.placements stay as they are): a placement the pass leaves
  // alone is returned as it came, and a 20,000-replica placement is not copied on every pass.
  const placements = new Map(input.placements);
  const copied = new Set<string>();
  const writable = (name: string): PlacementRecord | undefined => {
    const placement = placements.get(name);
    if (!placement || copied.has(name)) return placement;
    const copy = structuredClone(placement);
    placements.set(name, copy);
    copied.add(name);
    return copy;
  };
  const policies = new Map(input.workloads.map((w) => [w.name, w.spec]));
  const before = occupancy(input, placements);
  const snapshotFor = (d: DeviceRecord, instances: readonly PlacedInstance[] = nothing): DeviceSnapshot => (input.cache ? input.cache.snapshot(d, instances) : snapshotOf(d, instances));
  const snapshots = input.devices.map((d, i) => snapshotFor(d, before[i]));
  const eviction = decideEvictions({ devices: snapshots, workloads: policies, now: input.now });
  let moved = false;
  for (const e of eviction.evictions) {
    if (e.action !== 'move') continue;
    const ordinal = e.instanceId.slice(e.workload.length + 1);
    if (placements.get(e.workload)?.replicas[ordinal] !== e.deviceId) continue;
    const placement = writable(e.workload) as PlacementRecord;
    delete placement.replicas[ordinal];
    delete placement.peripherals?.[ordinal];
    moved = true;
    events.push({ workload: e.workload, event: { type: 'Warning', reason: 'Evicted', message: `replica ${ordinal} leaves ${e.deviceId}: ${e.reason}` } });
  }
  if (drainDevices(input, placements, writable, events)) moved = true;
  // Once for the whole fleet (computing it per device made a pass grow with devices × instances),
  // and again only when evictions or drains freed replicas.
  const after = moved ? occupancy(input, placements) : before;
  const fleet = new FleetState(
    moved ? input.devices.map((d, i) => snapshotFor(d, after[i])) : snapshots,
    { now: input.now },
    input.cache?.devices,
  );
  const everyDevice = new Map<string, Set<string>>();
  const unplaced = new Map<string, string>();
  const sorted = [...input.workloads].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const workload of sorted.filter((w) => w.spec.replicas === 'all')) {
    const plan = planEveryDeviceOnFleet(fleet, workload.name, workload.spec);
    everyDevice.set(workload.name, new Set([...plan.keep, ...plan.placements.map((p) => p.deviceId)]));
    if (plan.unfit.length > 0) unplaced.set(workload.name, formatUnfitSummary(0, plan.unfit.reduce((n, c) => n + c.devices, 0), plan.unfit));
  }
  for (const workload of sorted) {
    let placement = placements.get(workload.name);
    const wanted = effectiveReplicas(workload, placement?.autoscaledReplicas);
    if (wanted === 'all') continue;
    if (!placement) {
      placements.set(workload.name, (placement = { workload: workload.name, replicas: {} }));
      copied.add(workload.name);
    }
    for (const ordinal in placement.replicas) {
      if (Number(ordinal) < wanted) continue;
      placement = writable(workload.name) as PlacementRecord;
      events.push({ workload: workload.name, event: { type: 'Normal', reason: 'ScaledDown', message: `replica ${ordinal} removed from ${placement.replicas[ordinal] ?? '?'}` } });
      delete placement.replicas[ordinal];
      delete placement.peripherals?.[ordinal];
    }
    const free: string[] = [];
    for (let i = 0; i < wanted; i++) if (placement.replicas[i] === undefined) free.push(String(i));
    if (free.length === 0) continue;
    placement = writable(workload.name) as PlacementRecord;
    const result = fleet.place({ name: workload.name, spec: workload.spec, replicas: free.length });
    result.placements.forEach((p, i) => {
      const ordinal = free[i];
      if (ordinal === undefined) return;
      placement.replicas[ordinal] = p.deviceId;
      if (p.peripherals.length > 0) (placement.peripherals ??= {})[ordinal] = [...p.peripherals];
      const held = p.peripherals.map((c) => (c.kind === 'mcu' ? `MCU ${c.mcuId}` : `serial ${c.path}`));
      events.push({ workload: workload.name, event: { type: 'Normal', reason: 'Scheduled', message: `replica ${ordinal} placed on ${p.deviceId}${held.length ? ` with ${held.join(', ')}` : ''}` } });
    });
    if (result.unplaced) unplaced.set(workload.name, `${result.unplaced.replicas} replica(s) unplaced: ${result.unplaced.summary}`);
  }
  return { placements, everyDevice, unplaced, events, nextCheckAt: eviction.nextCheckAt };
}
