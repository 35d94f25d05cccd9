import type { DesiredInstance } from '../../protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../store/records.js';

/** The instance id of replica `ordinal`; a `replicas: all` workload has one instance per device, named like it. */
export function instanceId(workload: string, ordinal?: number): string {
  return ordinal === undefined ? workload : `${workload}-${ordinal}`;
}

/**
 * What every device must run, from the workloads and their placements. Pure: the controller
 * compares the result with what it published and sends only what changed.
 */
export function buildDesiredInstances(
  workloads: readonly WorkloadRecord[],
  placements: ReadonlyMap<string, PlacementRecord>,
  everyDevice: ReadonlyMap<string, ReadonlySet<string>>,
  devices: readonly DeviceRecord[],
): Map<string, DesiredInstance[]> {
  const byDevice = new Map<string, DesiredInstance[]>(devices.map((d) => [d.id, []]));
  const add = (deviceId: string, instance: DesiredInstance): void => {
    byDevice.get(deviceId)?.push(instance);
  };
  for (const workload of workloads) {
    const base = { workload: workload.name, revision: workload.revision, template: workload.spec.template };
    if (workload.spec.replicas === 'all') {
      // One object for every device: documents are never changed in place (release pins map
      // to new objects, the store keeps copies), and 20,000 copies per pass were garbage.
      const instance = { id: instanceId(workload.name), ...base };
      for (const deviceId of everyDevice.get(workload.name) ?? []) add(deviceId, instance);
      continue;
    }
    const placement = placements.get(workload.name);
    for (const [ordinal, deviceId] of Object.entries(placement?.replicas ?? {})) {
      add(deviceId, { id: instanceId(workload.name, Number(ordinal)), ...base });
    }
  }
  for (const list of byDevice.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return byDevice;
}
