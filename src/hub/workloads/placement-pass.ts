import {
  decideEvictions,
  disruptionBudget,
  planDrain,
  type DisruptionBudget,
  FleetState,
  formatUnfitSummary,
  planEveryDeviceOnFleet,
  type DeviceSnapshot,
  type PlacedInstance,
} from '../../scheduler/index.js';
import type { DesiredState, DeviceEvent } from '../../protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../store/records.js';
import { instanceId } from './desired-documents.js';
import { nothing, occupancy, snapshotOf, type PlacementPassCache } from './occupancy.js';

export { PlacementPassCache, snapshotOf } from './occupancy.js';
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

/** What occupies each device (in the order of `input.devices`); lists are read-only (shared between passes). */
function occupied(input: PlacementPassInput, placements: ReadonlyMap<string, PlacementRecord>): (readonly PlacedInstance[])[] {
  const byName = new Map(input.workloads.map((w) => [w.name, w]));
  return input.cache ? input.cache.occupancy(input.devices, placements, byName, input.published) : occupancy(input.devices, placements, byName, input.published);
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
  const occupiedNow = occupied(input, placements);
  for (let i = 0; i < input.devices.length; i++) {
    const device = input.devices[i] as DeviceRecord;
    if (!device.draining) continue;
    const instances = occupiedNow[i] ?? nothing;
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
  const before = occupied(input, placements);
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
  const after = moved ? occupied(input, placements) : before;
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
