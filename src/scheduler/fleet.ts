// The entry points for placing replicas.
//
// `placeReplicas` is the pure function: snapshot in, decision out. `FleetState` is the same
// decision for a batch: the hub's placement controller compiles the snapshot once per pass and
// places workload after workload, each seeing the replicas placed before it (as kube-scheduler's
// cache assumes a pod on its node before binding). It holds no clock and does no I/O.
import type { DeviceSnapshot, PlacedInstance } from './snapshot.js';
import type { DeviceReserve, SchedulerOptions } from './options.js';
import type { PlacementRequest, PlacementResult } from './types.js';
import type { CompiledDevice, DeviceUsage } from './device.js';
import type { FleetView } from './context.js';
import { resolveOptions } from './options.js';
import { compileDevice, copyUsage, usageOf } from './device.js';
import { LabelIndex } from './label-index.js';
import type { CompiledDeviceCache } from './compiled-cache.js';
import { normalizeImage } from './scores/image-locality.js';
import { compileWorkload } from './workload.js';
import { WorkloadContext } from './context.js';
import { PlacementSession } from './session.js';

/**
 * Usage computed from a device's instance list, kept by the list's identity: the hub keeps each
 * device's list between passes while it holds the same instances, so a pass sums again only the
 * devices whose instances changed. Each fleet gets its own copy (placing mutates usage).
 */
const usageByInstances = new WeakMap<readonly PlacedInstance[], DeviceUsage>();

function usageFromInstances(snapshot: DeviceSnapshot): DeviceUsage {
  let usage = usageByInstances.get(snapshot.instances);
  if (usage === undefined) usageByInstances.set(snapshot.instances, (usage = usageOf(snapshot)));
  return usage;
}

const byId = (a: DeviceSnapshot, b: DeviceSnapshot): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * What a fleet derives from its devices alone (order, index, compiled devices, label index),
 * kept in the caller's CompiledDeviceCache from one fleet to the next: a fleet built from the
 * same devices, a few of them with other instances, patches those positions instead of sorting,
 * indexing and looking up 20,000 devices again.
 */
export interface FleetBase {
  readonly input: readonly DeviceSnapshot[];
  /** Input position → sorted position. */
  readonly position: Int32Array;
  readonly sorted: readonly DeviceSnapshot[];
  readonly index: ReadonlyMap<string, number>;
  readonly devices: readonly CompiledDevice[];
  readonly labels: LabelIndex;
  readonly reserve: DeviceReserve;
}

const sameReserve = (a: DeviceReserve, b: DeviceReserve): boolean => a.cpuMillis === b.cpuMillis && a.memoryBytes === b.memoryBytes && a.diskBytes === b.diskBytes;

function buildBase(snapshot: readonly DeviceSnapshot[], reserve: DeviceReserve, cache: CompiledDeviceCache | undefined): FleetBase {
  // Sorting by id (code-unit order, not locale) makes the index the deterministic tie-break
  // and makes the result independent of the order the hub listed the devices in.
  const order = Array.from(snapshot.keys()).sort((a, b) => byId(snapshot[a] as DeviceSnapshot, snapshot[b] as DeviceSnapshot));
  const sorted = order.map((i) => snapshot[i] as DeviceSnapshot);
  const position = new Int32Array(snapshot.length);
  order.forEach((i, j) => (position[i] = j));
  const index = new Map<string, number>();
  sorted.forEach((d, i) => {
    if (index.has(d.id)) throw new Error(`duplicate device id in snapshot: ${d.id}`);
    index.set(d.id, i);
  });
  const devices = cache ? sorted.map((d, i) => cache.compile(d, i, reserve)) : sorted.map((d, i) => compileDevice(d, i, reserve));
  cache?.retainOnly(index);
  return { input: snapshot, position, sorted, index, devices, labels: new LabelIndex(devices.map((d) => d.labels)), reserve };
}

/** The last base with the positions whose snapshot is another object patched, or undefined when the devices themselves differ. */
function patchedBase(last: FleetBase, snapshot: readonly DeviceSnapshot[], reserve: DeviceReserve, cache: CompiledDeviceCache): FleetBase | undefined {
  if (last.input.length !== snapshot.length || !sameReserve(last.reserve, reserve)) return undefined;
  let sorted: DeviceSnapshot[] | undefined;
  let devices: CompiledDevice[] | undefined;
  let labels = false;
  for (let i = 0; i < snapshot.length; i++) {
    const now = snapshot[i] as DeviceSnapshot;
    const before = last.input[i] as DeviceSnapshot;
    if (now === before) continue;
    if (now.id !== before.id) return undefined;
    const j = last.position[i] as number;
    (sorted ??= [...last.sorted])[j] = now;
    const compiled = cache.compile(now, j, reserve);
    if (compiled === last.devices[j]) continue;
    (devices ??= [...last.devices])[j] = compiled;
    if (compiled.labels !== last.devices[j]?.labels) labels = true;
  }
  const compiled = devices ?? last.devices;
  return { input: snapshot, position: last.position, sorted: sorted ?? last.sorted, index: last.index, devices: compiled, labels: labels ? new LabelIndex(compiled.map((d) => d.labels)) : last.labels, reserve };
}

export class FleetState implements FleetView {
  readonly devices: readonly CompiledDevice[];
  /** Shared with other fleets until written: `writableUsage` copies a device's on first write. */
  readonly usage: DeviceUsage[];
  readonly now: number;
  readonly labels: LabelIndex;
  private readonly indexById: ReadonlyMap<string, number>;
  /** Built on first use: most passes place no workload that prefers devices holding its image. */
  private images: Map<string, number[]> | undefined;
  /** Per workload, built on first use from the snapshot: a pass places a few of its workloads, not all. */
  private readonly replicas = new Map<string, Map<number, number>>();
  private readonly sorted: readonly DeviceSnapshot[];
  private readonly copied: Uint8Array;

  /** `cache` keeps compiled devices (and the fleet's order and indexes) between fleets (one placement pass to the next); the result is the same without it. */
  constructor(snapshot: readonly DeviceSnapshot[], options: SchedulerOptions, cache?: CompiledDeviceCache) {
    const resolved = resolveOptions(options);
    const last = cache?.fleet as FleetBase | undefined;
    const base = (cache && last && patchedBase(last, snapshot, resolved.reserve, cache)) || buildBase(snapshot, resolved.reserve, cache);
    if (cache) cache.fleet = base;
    this.sorted = base.sorted;
    this.devices = base.devices;
    this.usage = base.sorted.map(usageFromInstances);
    this.copied = new Uint8Array(base.sorted.length);
    this.now = resolved.now;
    this.indexById = base.index;
    this.labels = base.labels;
  }

  /** Device i's usage, this fleet's own copy (placing mutates it; the shared one stays as it was). */
  writableUsage(i: number): DeviceUsage {
    if (this.copied[i] === 1) return this.usage[i] as DeviceUsage;
    this.copied[i] = 1;
    return (this.usage[i] = copyUsage(this.usage[i] as DeviceUsage));
  }

  imageHolders(image: string): readonly number[] {
    if (!this.images) {
      const images = (this.images = new Map<string, number[]>());
      this.sorted.forEach((d, i) => {
        for (const held of new Set((d.facts?.images ?? []).map(normalizeImage))) {
          const holders = images.get(held);
          if (holders) holders.push(i);
          else images.set(held, [i]);
        }
      });
    }
    return this.images.get(image) ?? [];
  }

  /** Device index → replicas of `workload` on it: what the snapshot holds plus what this fleet recorded since. */
  replicasOf(workload: string): ReadonlyMap<number, number> {
    return this.countsOf(workload);
  }

  recordReplica(workload: string, device: number): void {
    const counts = this.countsOf(workload);
    counts.set(device, (counts.get(device) ?? 0) + 1);
  }

  private countsOf(workload: string): Map<number, number> {
    let counts = this.replicas.get(workload);
    if (counts) return counts;
    counts = new Map();
    for (let i = 0; i < this.sorted.length; i++) {
      let n = 0;
      for (const inst of (this.sorted[i] as DeviceSnapshot).instances) if (inst.workload === workload) n++;
      if (n > 0) counts.set(i, n);
    }
    this.replicas.set(workload, counts);
    return counts;
  }

  indexOf(deviceId: string): number | undefined {
    return this.indexById.get(deviceId);
  }

  /** The static, per-workload work: filters and scores that do not change while placing. */
  prepare(request: PlacementRequest): WorkloadContext {
    return new WorkloadContext(this, compileWorkload(request.name, request.spec, this.labels));
  }

  /** A session placing one replica per `next()`, for callers (and the bench) that go step by step. */
  begin(request: PlacementRequest): PlacementSession {
    return new PlacementSession(this.prepare(request), Math.max(0, request.replicas));
  }

  /** Places the request's replicas and records them, so later requests see them. */
  place(request: PlacementRequest): PlacementResult {
    if (request.replicas <= 0) return { workload: request.name, placements: [], unplaced: undefined };
    return this.begin(request).finish();
  }
}

/** Where `request.replicas` new replicas go, given the fleet as `devices` describes it. */
export function placeReplicas(devices: readonly DeviceSnapshot[], request: PlacementRequest, options: SchedulerOptions): PlacementResult {
  return new FleetState(devices, options).place(request);
}
