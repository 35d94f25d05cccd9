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
 * What every device must run, from the workloads and their placements. Pure: the controller
 * compares the result with what it published and sends only what changed.
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
