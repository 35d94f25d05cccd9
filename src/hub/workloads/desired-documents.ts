import type { DesiredInstance } from '../../protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../store/records.js';

/** The instance id of replica `ordinal`; a `replicas: all` workload has one instance per device, named like it. */
export function instanceId(workload: string, ordinal?: number): string {
  return ordinal === undefined ? workload : `${workload}-${ordinal}`;
}

/**
 * Each replica's desired instance kept between passes while its workload's revision (its
 * template's hash) is the same: documents are never changed in place, so one object serves
 * every pass (20,000 spread replicas were 20,000 new objects per pass).
 */
export class DesiredInstanceCache {
  private readonly byWorkload = new Map<string, { revision: string; byOrdinal: Map<string, DesiredInstance> }>();

  instance(workload: WorkloadRecord, ordinal: string | undefined): DesiredInstance {
    let entry = this.byWorkload.get(workload.name);
    if (!entry || entry.revision !== workload.revision) this.byWorkload.set(workload.name, (entry = { revision: workload.revision, byOrdinal: new Map() }));
    const key = ordinal ?? '';
    let instance = entry.byOrdinal.get(key);
    if (!instance) {
      instance = { id: instanceId(workload.name, ordinal === undefined ? undefined : Number(ordinal)), workload: workload.name, revision: workload.revision, template: workload.spec.template };
      entry.byOrdinal.set(key, instance);
    }
    return instance;
  }

  retainOnly(workloads: readonly WorkloadRecord[]): void {
    const names = new Set(workloads.map((w) => w.name));
    for (const name of this.byWorkload.keys()) if (!names.has(name)) this.byWorkload.delete(name);
  }
}

const byInstanceId = (a: DesiredInstance, b: DesiredInstance): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * What every device must run, from the workloads and their placements, computed from scratch.
 * The controller keeps these lists between passes instead (`WantedLists` below), which must give
 * exactly this (pass-state-equivalence.test.ts).
 */
export function buildDesiredInstances(
  workloads: readonly WorkloadRecord[],
  placements: ReadonlyMap<string, PlacementRecord>,
  everyDevice: ReadonlyMap<string, ReadonlySet<string>>,
  devices: readonly DeviceRecord[],
  cache: DesiredInstanceCache = new DesiredInstanceCache(),
): Map<string, DesiredInstance[]> {
  cache.retainOnly(workloads);
  const byDevice = new Map<string, DesiredInstance[]>();
  for (const d of devices) byDevice.set(d.id, []);
  const add = (deviceId: string, instance: DesiredInstance): void => {
    byDevice.get(deviceId)?.push(instance);
  };
  for (const workload of workloads) {
    if (workload.spec.replicas === 'all') {
      // One object for every device: documents are never changed in place (release pins map
      // to new objects, the store keeps copies), and 20,000 copies per pass were garbage.
      const instance = cache.instance(workload, undefined);
      for (const deviceId of everyDevice.get(workload.name) ?? []) add(deviceId, instance);
      continue;
    }
    const replicas = placements.get(workload.name)?.replicas ?? {};
    for (const ordinal in replicas) add(replicas[ordinal] as string, cache.instance(workload, ordinal));
  }
  for (const list of byDevice.values()) if (list.length > 1) list.sort(byInstanceId);
  return byDevice;
}

/** What one workload put on devices in the last pass: kept while its source (placement or `replicas: all` devices) and revision are the same. */
interface WantedContribution {
  source: PlacementRecord | ReadonlySet<string> | undefined;
  revision: string;
  every: boolean;
  devices: Map<string, DesiredInstance[]>;
}

/**
 * `buildDesiredInstances` kept between passes: each device's list is built again only when a
 * workload that has (or had) instances on it changed (its placement object, its `replicas: all`
 * devices, its revision) or the device is new; other devices keep last pass's list object, which
 * the controller uses to skip comparing documents it already compared. Lists are read-only:
 * callers replace a device's entry, never edit the list (release pins and configs map to new lists).
 */
export class WantedLists {
  private readonly cache = new DesiredInstanceCache();
  private readonly held = new Map<string, WantedContribution>();
  private readonly onDevice = new Map<string, Map<string, DesiredInstance[]>>();
  private readonly lists = new Map<string, DesiredInstance[]>();
  private order = '';
  private devices: readonly DeviceRecord[] | undefined;
  private ids = new Set<string>();
  /** Device lists built so far (tests count them). */
  listsBuilt = 0;

  /** Every device's list (a new map: callers replace entries, e.g. release pins). */
  build(workloads: readonly WorkloadRecord[], placements: ReadonlyMap<string, PlacementRecord>, everyDevice: ReadonlyMap<string, ReadonlySet<string>>, devices: readonly DeviceRecord[]): Map<string, DesiredInstance[]> {
    this.update(workloads, placements, everyDevice, devices);
    const out = new Map<string, DesiredInstance[]>();
    for (const d of devices) out.set(d.id, this.lists.get(d.id) as DesiredInstance[]);
    return out;
  }

  /** Devices whose list is another object than in the pass before (new devices included): the others' lists are those compared then. */
  changed: ReadonlySet<string> = new Set();

  /** Each device's list after `update`. */
  listOfDevice(id: string): DesiredInstance[] | undefined {
    return this.lists.get(id);
  }

  /** Brings the lists up to date; `changed` says whose list is new. */
  update(workloads: readonly WorkloadRecord[], placements: ReadonlyMap<string, PlacementRecord>, everyDevice: ReadonlyMap<string, ReadonlySet<string>>, devices: readonly DeviceRecord[]): void {
    this.cache.retainOnly(workloads);
    const dirty = new Set<string>();
    const rank = new Map(workloads.map((w, i) => [w.name, i]));
    const order = workloads.map((w) => w.name).join('\n');
    const reorder = order !== this.order;
    this.order = order;
    for (const [name, held] of this.held) {
      if (rank.has(name)) continue;
      this.drop(name, held, dirty);
    }
    for (const workload of workloads) {
      const every = workload.spec.replicas === 'all';
      const source = every ? everyDevice.get(workload.name) : placements.get(workload.name);
      const held = this.held.get(workload.name);
      if (held && held.every === every && held.revision === workload.revision) {
        if (held.source === source) continue;
        // `replicas: all` devices come as a new set from every placement pass: the same devices are no change.
        if (every && held.source instanceof Set && source !== undefined && sameSet(held.source, source as ReadonlySet<string>)) {
          held.source = source;
          continue;
        }
      }
      if (held) this.drop(workload.name, held, dirty);
      const contribution: WantedContribution = { source, revision: workload.revision, every, devices: new Map() };
      const put = (deviceId: string, instance: DesiredInstance): void => {
        const list = contribution.devices.get(deviceId);
        if (list) list.push(instance);
        else contribution.devices.set(deviceId, [instance]);
      };
      if (every) {
        const instance = this.cache.instance(workload, undefined);
        for (const deviceId of (source as ReadonlySet<string> | undefined) ?? []) put(deviceId, instance);
      } else {
        const replicas = (source as PlacementRecord | undefined)?.replicas ?? {};
        for (const ordinal in replicas) put(replicas[ordinal] as string, this.cache.instance(workload, ordinal));
      }
      for (const [deviceId, list] of contribution.devices) {
        dirty.add(deviceId);
        let mine = this.onDevice.get(deviceId);
        if (!mine) this.onDevice.set(deviceId, (mine = new Map()));
        mine.set(workload.name, list);
      }
      this.held.set(workload.name, contribution);
    }
    const changed = new Set<string>();
    const rebuild = (id: string): void => {
      const known = this.lists.get(id);
      const list = this.listOf(id, rank);
      if (known !== undefined && known.length === list.length && known.every((x, i) => x === list[i])) return;
      this.lists.set(id, list);
      changed.add(id);
    };
    if (reorder || devices !== this.devices) {
      // A new device list (or workload order): every device is looked at, the unchanged keep their list.
      const ids = new Set<string>();
      for (const d of devices) {
        ids.add(d.id);
        if (reorder || dirty.has(d.id) || !this.lists.has(d.id)) rebuild(d.id);
      }
      for (const id of this.lists.keys()) if (!ids.has(id)) this.lists.delete(id);
      this.ids = ids;
    } else for (const id of dirty) if (this.ids.has(id)) rebuild(id);
    this.devices = devices;
    this.changed = changed;
  }

  private drop(name: string, held: WantedContribution, dirty: Set<string>): void {
    for (const deviceId of held.devices.keys()) {
      dirty.add(deviceId);
      this.onDevice.get(deviceId)?.delete(name);
    }
    this.held.delete(name);
  }

  /** As buildDesiredInstances makes it: instances in workload order, then sorted by id (a stable sort). */
  private listOf(deviceId: string, rank: ReadonlyMap<string, number>): DesiredInstance[] {
    this.listsBuilt += 1;
    const mine = this.onDevice.get(deviceId);
    if (mine === undefined || mine.size === 0) return [];
    const names = [...mine.keys()];
    if (names.length > 1) names.sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number));
    const list: DesiredInstance[] = [];
    for (const name of names) list.push(...(mine.get(name) as DesiredInstance[]));
    if (list.length > 1) list.sort(byInstanceId);
    return list;
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
