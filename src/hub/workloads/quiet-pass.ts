// A pass whose inputs are those of the last pass, when that pass changed nothing (no placement,
// no event, no document), would change nothing either: the pass is a function of its inputs and
// of the time, and the time matters only from the next check the last pass asked for (an offline
// device's grace, a paced config change). The inputs are told apart by identity where the store
// hands out its own objects (the device list, each placement, the published documents: all
// replaced whole on every write, never edited), and workloads by their text (50 small records).
// A pass with nothing dirty is then O(1) in the devices instead of a walk over the fleet.
import type { DesiredState } from '../../protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../store/records.js';

export interface PassInputs {
  workloads: readonly WorkloadRecord[];
  devices: readonly Readonly<DeviceRecord>[];
  placements: ReadonlyMap<string, PlacementRecord>;
  published: ReadonlyMap<string, Readonly<DesiredState>>;
  /** Jobs, configs, release pins or rollouts exist: their inputs are not tracked here, so such a pass always runs. */
  extras: boolean;
  now: number;
}

interface Remembered {
  workloads: string;
  devices: readonly Readonly<DeviceRecord>[];
  placements: ReadonlyMap<string, PlacementRecord>;
  published: ReadonlyMap<string, Readonly<DesiredState>>;
  nextCheckAt: number | undefined;
}

export class QuietPassCheck {
  private last: Remembered | undefined;
  private flags: { devices: readonly Readonly<DeviceRecord>[]; draining: boolean; tainted: boolean } | undefined;
  /** Passes skipped so far (tests count them). */
  skipped = 0;

  /** Whether a device drains (then readiness reports pace the pass, and it always runs). Walks the list once per list object. */
  draining(devices: readonly Readonly<DeviceRecord>[]): boolean {
    return this.flagsOf(devices).draining;
  }

  same(inputs: PassInputs): boolean {
    const last = this.last;
    if (last === undefined || inputs.extras || inputs.devices !== last.devices || inputs.published !== last.published) return false;
    // A taint may be tolerated for some seconds only: time alone can change such a pass.
    const flags = this.flagsOf(inputs.devices);
    if (flags.draining || flags.tainted) return false;
    if (last.nextCheckAt !== undefined && inputs.now >= last.nextCheckAt) return false;
    if (inputs.placements.size !== last.placements.size) return false;
    for (const [name, placement] of inputs.placements) if (last.placements.get(name) !== placement) return false;
    if (JSON.stringify(inputs.workloads) !== last.workloads) return false;
    this.skipped += 1;
    return true;
  }

  /** After a pass: its inputs if it changed nothing, else undefined (the next pass runs). */
  remember(inputs: (PassInputs & { nextCheckAt: number | undefined }) | undefined): void {
    this.last =
      inputs === undefined || inputs.extras
        ? undefined
        : { workloads: JSON.stringify(inputs.workloads), devices: inputs.devices, placements: inputs.placements, published: inputs.published, nextCheckAt: inputs.nextCheckAt };
  }

  private flagsOf(devices: readonly Readonly<DeviceRecord>[]): { draining: boolean; tainted: boolean } {
    if (this.flags?.devices !== devices) {
      let draining = false;
      let tainted = false;
      for (const d of devices) {
        if (d.draining) draining = true;
        if (d.taints.length > 0) tainted = true;
      }
      this.flags = { devices, draining, tainted };
    }
    return this.flags;
  }
}
