// Which devices a desired pass works out a next document for. Each device's wanted list is kept
// between passes (WantedLists); a document already found equal to a list is remembered by both
// objects' identity (stored documents are never edited, nor are kept lists). Without jobs,
// configs, release pins or rollouts a document follows from the list alone, so only devices
// whose list is a new object, or whose document is not the one found equal to its list, can get
// a new document: at 20,000 devices a change of 5 replicas looks at 5 devices.
import type { DesiredInstance, DesiredState } from '../../protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../store/records.js';
import { WantedLists } from './desired-documents.js';
import type { PlacementPassResult } from './placement-pass.js';

type Published = ReadonlyMap<string, Readonly<DesiredState>>;

export class WantedDocuments {
  private readonly lists = new WantedLists();
  private agreed = new WeakMap<Readonly<DesiredState>, readonly DesiredInstance[]>();
  /** The published view and device list the last completed pass looked through. */
  private seen: { published?: Published; devices?: readonly DeviceRecord[] } = {};
  /** Devices whose next document was worked out (tests count them: a change of 5 replicas looks at 5, not the fleet). */
  lookedAt = 0;

  /** Every device's wanted list (a pass with jobs, configs, pins or rollouts: those decide the rest). */
  all(workloads: readonly WorkloadRecord[], result: PlacementPassResult, devices: readonly DeviceRecord[]): Map<string, DesiredInstance[]> {
    this.seen = {};
    const wanted = this.lists.build(workloads, result.placements, result.everyDevice, devices);
    this.lookedAt += wanted.size;
    return wanted;
  }

  /**
   * The wanted lists of the devices that may need a new document. The documents are looked at
   * one by one only when the published view or the device list is another object than in the
   * last completed pass (`done`); until then a pass that fails half way leaves the next one to look at all.
   */
  dirty(workloads: readonly WorkloadRecord[], result: PlacementPassResult, devices: readonly DeviceRecord[], published: Published): Map<string, DesiredInstance[]> {
    const seen = this.seen;
    this.seen = {};
    const lists = this.lists;
    lists.update(workloads, result.placements, result.everyDevice, devices);
    const wanted = new Map<string, DesiredInstance[]>();
    for (const id of lists.changed) wanted.set(id, lists.listOfDevice(id) as DesiredInstance[]);
    if (published !== seen.published || devices !== seen.devices) {
      for (const d of devices) {
        if (wanted.has(d.id)) continue;
        const list = lists.listOfDevice(d.id) as DesiredInstance[];
        const doc = published.get(d.id);
        if (doc === undefined ? list.length > 0 : this.agreed.get(doc) !== list) wanted.set(d.id, list);
      }
    }
    this.lookedAt += wanted.size;
    return wanted;
  }

  /** The pass that called `dirty` stored and published its documents. */
  done(published: Published, devices: readonly DeviceRecord[]): void {
    this.seen = { published, devices };
  }

  /** Whether `doc` was found equal to `list` before. */
  agrees(doc: Readonly<DesiredState>, list: readonly DesiredInstance[]): boolean {
    return this.agreed.get(doc) === list;
  }

  agree(doc: Readonly<DesiredState>, list: readonly DesiredInstance[]): void {
    this.agreed.set(doc, list);
  }
}
