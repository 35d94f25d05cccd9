// Compiled devices kept from one placement pass to the next. Compiling a device (labels as a
// Map, taint times parsed, allocatable computed, MCUs and ports sorted) is pure in its snapshot's
// fields, and the hub replaces a record's parts whole on every write (never edits them in place),
// so the same label, taint and facts objects mean the same compiled device: at 20,000 devices a
// pass then compiles only the devices that changed since the last one, not the fleet.
import type { CompiledDevice } from './device.js';
import type { DeviceReserve } from './options.js';
import type { DeviceSnapshot } from './snapshot.js';
import { compileDevice } from './device.js';

interface Entry {
  readonly labels: DeviceSnapshot['labels'];
  readonly taints: DeviceSnapshot['taints'];
  readonly facts: DeviceSnapshot['facts'];
  readonly unschedulable: boolean;
  readonly online: boolean;
  readonly ready: boolean;
  readonly neverConnected: boolean;
  readonly reserve: DeviceReserve;
  compiled: CompiledDevice;
}

const sameReserve = (a: DeviceReserve, b: DeviceReserve): boolean => a.cpuMillis === b.cpuMillis && a.memoryBytes === b.memoryBytes && a.diskBytes === b.diskBytes;

export class CompiledDeviceCache {
  private readonly entries = new Map<string, Entry>();
  /** Devices compiled so far (tests count them: an unchanged device is not compiled again). */
  compiles = 0;
  /** The last fleet's order and indexes (fleet.ts `FleetBase`; opaque here). */
  fleet: unknown;

  /** The compiled form of `snapshot` at `index`, compiled again only if what it depends on changed. */
  compile(snapshot: DeviceSnapshot, index: number, reserve: DeviceReserve): CompiledDevice {
    const e = this.entries.get(snapshot.id);
    if (
      e !== undefined &&
      e.labels === snapshot.labels &&
      e.taints === snapshot.taints &&
      e.facts === snapshot.facts &&
      e.unschedulable === snapshot.unschedulable &&
      e.online === snapshot.online &&
      e.ready === snapshot.ready &&
      e.neverConnected === (snapshot.neverConnected === true) &&
      sameReserve(e.reserve, reserve)
    ) {
      // A device that joined earlier in id order shifts the rest: same device, new position.
      if (e.compiled.index !== index) e.compiled = { ...e.compiled, index };
      return e.compiled;
    }
    this.compiles += 1;
    const compiled = compileDevice(snapshot, index, reserve);
    this.entries.set(snapshot.id, {
      labels: snapshot.labels,
      taints: snapshot.taints,
      facts: snapshot.facts,
      unschedulable: snapshot.unschedulable,
      online: snapshot.online,
      ready: snapshot.ready,
      neverConnected: snapshot.neverConnected === true,
      reserve,
      compiled,
    });
    return compiled;
  }

  /** Forgets devices that are no longer in the fleet (deleted ones). */
  retainOnly(ids: ReadonlyMap<string, unknown>): void {
    if (this.entries.size <= ids.size) return;
    for (const id of this.entries.keys()) if (!ids.has(id)) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}
