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

/**
 * What is already taken on a device. Mutated only through `recordLoad`. The collections start as
 * shared empty ones and are created on a device's first write (most devices hold no host port,
 * extended resource or peripheral: four collections for each of 20,000 devices on every pass
 * were most of a pass's garbage).
 */
export interface DeviceUsage {
  cpuMillis: number;
  memoryBytes: number;
  diskBytes: number;
  hostPorts: ReadonlySet<string>;
  extended: ReadonlyMap<string, number>;
  mcuClaims: ReadonlyMap<string, ClaimCount>;
  serialClaims: ReadonlyMap<string, ClaimCount>;
}

const noPorts: ReadonlySet<string> = Object.freeze(new Set<string>());
const noAmounts: ReadonlyMap<string, number> = Object.freeze(new Map<string, number>());
const noClaims: ReadonlyMap<string, ClaimCount> = Object.freeze(new Map<string, ClaimCount>());

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
  return { cpuMillis: 0, memoryBytes: 0, diskBytes: 0, hostPorts: noPorts, extended: noAmounts, mcuClaims: noClaims, serialClaims: noClaims };
}

/** Instances are immutable: the load of one shared by many devices (`replicas: all`) is computed once. */
const loads = new WeakMap<PlacedInstance, InstanceLoad>();

export function loadOfInstance(instance: PlacedInstance): InstanceLoad {
  const known = loads.get(instance);
  if (known) return known;
  const load: InstanceLoad = {
    cpuMillis: instance.cpuMillis,
    memoryBytes: instance.memoryBytes,
    diskBytes: 0,
    hostPorts: instance.hostPorts.map(hostPortKey),
    deviceResources: Object.entries(instance.deviceResources),
    peripherals: instance.peripherals,
  };
  loads.set(instance, load);
  return load;
}

/** A usage record to place on, independent of `usage` (its collections are copied only when not the shared empty ones). */
export function copyUsage(usage: DeviceUsage): DeviceUsage {
  return {
    cpuMillis: usage.cpuMillis,
    memoryBytes: usage.memoryBytes,
    diskBytes: usage.diskBytes,
    hostPorts: usage.hostPorts === noPorts ? noPorts : new Set(usage.hostPorts),
    extended: usage.extended === noAmounts ? noAmounts : new Map(usage.extended),
    mcuClaims: usage.mcuClaims === noClaims ? noClaims : copyClaims(usage.mcuClaims),
    serialClaims: usage.serialClaims === noClaims ? noClaims : copyClaims(usage.serialClaims),
  };
}

function copyClaims(claims: ReadonlyMap<string, ClaimCount>): Map<string, ClaimCount> {
  return new Map([...claims].map(([key, c]) => [key, { exclusive: c.exclusive, shared: c.shared }]));
}

export function usageOf(snapshot: DeviceSnapshot): DeviceUsage {
  const usage = emptyUsage();
  for (const instance of snapshot.instances) recordLoad(usage, loadOfInstance(instance));
  return usage;
}

function claim(usage: DeviceUsage, field: 'mcuClaims' | 'serialClaims', key: string, exclusive: boolean): void {
  const map = usage[field] === noClaims ? (usage[field] = new Map<string, ClaimCount>()) : (usage[field] as Map<string, ClaimCount>);
  let c = map.get(key);
  if (!c) map.set(key, (c = { exclusive: 0, shared: 0 }));
  if (exclusive) c.exclusive++;
  else c.shared++;
}

export function recordLoad(usage: DeviceUsage, load: InstanceLoad): void {
  usage.cpuMillis += load.cpuMillis;
  usage.memoryBytes += load.memoryBytes;
  usage.diskBytes += load.diskBytes;
  if (load.hostPorts.length > 0) {
    const ports = usage.hostPorts === noPorts ? (usage.hostPorts = new Set<string>()) : (usage.hostPorts as Set<string>);
    for (const p of load.hostPorts) ports.add(p);
  }
  if (load.deviceResources.length > 0) {
    const extended = usage.extended === noAmounts ? (usage.extended = new Map<string, number>()) : (usage.extended as Map<string, number>);
    for (const [name, qty] of load.deviceResources) extended.set(name, (extended.get(name) ?? 0) + qty);
  }
  for (const p of load.peripherals) {
    if (p.kind === 'mcu') claim(usage, 'mcuClaims', p.mcuId, p.exclusive);
    else claim(usage, 'serialClaims', p.path, p.exclusive);
  }
}
