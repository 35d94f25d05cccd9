// A device as the scheduler works with it: the snapshot compiled once per fleet (labels as a
// Map, taint times parsed, allocatable computed, images in a Set) plus a mutable usage record
// that placements update. Compiling once is what makes per-workload filtering cheap.
import type { DeviceSnapshot, HostPort, PeripheralClaim, PlacedInstance } from './snapshot.js';
import type { DeviceReserve } from './options.js';
import type { LabelMap } from './labels.js';
import type { CompiledTaint } from './tolerations.js';
import { effectiveLabels } from './labels.js';
import { parseTimeMs } from './tolerations.js';

export interface CompiledDevice {
  readonly index: number;
  readonly id: string;
  readonly labels: LabelMap;
  readonly taints: readonly CompiledTaint[];
  readonly unschedulable: boolean;
  readonly online: boolean;
  readonly ready: boolean;
  readonly hasFacts: boolean;
  readonly neverConnected: boolean;
  readonly docker: boolean;
  readonly process: boolean;
  /** Facts minus the reserve, never negative. */
  readonly allocatableCpu: number;
  readonly allocatableMemory: number;
  /** Free disk minus the reserve (may be negative: then nothing fits). */
  readonly allocatableDisk: number;
  /** Online MCUs, sorted by id so that allocation is deterministic. */
  readonly mcus: readonly { readonly id: string; readonly model: string }[];
  /** Serial ports not occupied by an attached MCU, sorted by path. */
  readonly serialPorts: readonly string[];
  /** Every serial port path the facts list (MCU ports too): what `serialDevices` may pass through. */
  readonly serialDevicePaths: ReadonlySet<string>;
  readonly extended: ReadonlyMap<string, number>;
}

export interface ClaimCount {
  exclusive: number;
  shared: number;
}

/** What is already taken on a device. Mutated only through `recordLoad`. */
export interface DeviceUsage {
  cpuMillis: number;
  memoryBytes: number;
  diskBytes: number;
  readonly hostPorts: Set<string>;
  readonly extended: Map<string, number>;
  readonly mcuClaims: Map<string, ClaimCount>;
  readonly serialClaims: Map<string, ClaimCount>;
}

/** What one instance adds to a device. */
export interface InstanceLoad {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly hostPorts: readonly string[];
  readonly deviceResources: readonly (readonly [string, number])[];
  readonly peripherals: readonly PeripheralClaim[];
}

export function hostPortKey(p: HostPort): string {
  return `${p.port}/${p.protocol}`;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compileDevice(snapshot: DeviceSnapshot, index: number, reserve: DeviceReserve): CompiledDevice {
  const facts = snapshot.facts;
  const mcus = (facts?.mcus ?? []).filter((m) => m.online).map((m) => ({ id: m.id, model: m.model }));
  mcus.sort((a, b) => byString(a.id, b.id));
  // A port an MCU sits on belongs to that MCU: a `serial` peripheral must not take it.
  const mcuPorts = new Set((facts?.mcus ?? []).map((m) => m.port));
  const serialPorts = (facts?.serialPorts ?? []).map((p) => p.path).filter((p) => !mcuPorts.has(p));
  serialPorts.sort(byString);
  return {
    index,
    id: snapshot.id,
    labels: effectiveLabels(snapshot.labels, facts),
    taints: snapshot.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect, addedAtMs: parseTimeMs(t.addedAt) })),
    unschedulable: snapshot.unschedulable,
    online: snapshot.online,
    ready: snapshot.ready,
    hasFacts: facts !== undefined,
    neverConnected: snapshot.neverConnected === true,
    docker: facts?.runtimes.docker.available ?? false,
    process: facts?.runtimes.process.available ?? false,
    allocatableCpu: Math.max(0, (facts?.cpu.cores ?? 0) * 1000 - reserve.cpuMillis),
    allocatableMemory: Math.max(0, (facts?.memory.totalBytes ?? 0) - reserve.memoryBytes),
    allocatableDisk: (facts?.disk.freeBytes ?? 0) - reserve.diskBytes,
    mcus,
    serialPorts,
    serialDevicePaths: new Set([...(facts?.serialPorts ?? []).map((p) => p.path), ...mcuPorts]),
    extended: new Map(Object.entries(facts?.resources ?? {})),
  };
}

export function emptyUsage(): DeviceUsage {
  return {
    cpuMillis: 0,
    memoryBytes: 0,
    diskBytes: 0,
    hostPorts: new Set(),
    extended: new Map(),
    mcuClaims: new Map(),
    serialClaims: new Map(),
  };
}

export function loadOfInstance(instance: PlacedInstance): InstanceLoad {
  return {
    cpuMillis: instance.cpuMillis,
    memoryBytes: instance.memoryBytes,
    diskBytes: 0,
    hostPorts: instance.hostPorts.map(hostPortKey),
    deviceResources: Object.entries(instance.deviceResources),
    peripherals: instance.peripherals,
  };
}

export function usageOf(snapshot: DeviceSnapshot): DeviceUsage {
  const usage = emptyUsage();
  for (const instance of snapshot.instances) recordLoad(usage, loadOfInstance(instance));
  return usage;
}

function claim(map: Map<string, ClaimCount>, key: string, exclusive: boolean): void {
  let c = map.get(key);
  if (!c) map.set(key, (c = { exclusive: 0, shared: 0 }));
  if (exclusive) c.exclusive++;
  else c.shared++;
}

export function recordLoad(usage: DeviceUsage, load: InstanceLoad): void {
  usage.cpuMillis += load.cpuMillis;
  usage.memoryBytes += load.memoryBytes;
  usage.diskBytes += load.diskBytes;
  for (const p of load.hostPorts) usage.hostPorts.add(p);
  for (const [name, qty] of load.deviceResources) usage.extended.set(name, (usage.extended.get(name) ?? 0) + qty);
  for (const p of load.peripherals) {
    if (p.kind === 'mcu') claim(usage.mcuClaims, p.mcuId, p.exclusive);
    else claim(usage.serialClaims, p.path, p.exclusive);
  }
}
