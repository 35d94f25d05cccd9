import type { DesiredState, InstanceStatus, ReportedState, WorkloadView } from '../../protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../store/records.js';
import { effectiveReplicas } from './autoscaler.js';

export interface FleetState {
  desired: ReadonlyMap<string, DesiredState>;
  reported: ReadonlyMap<string, ReportedState>;
  devices: ReadonlyMap<string, DeviceRecord>;
  unplacedReasons: ReadonlyMap<string, string>;
  /** Replica counts set by the autoscaler, by workload. */
  autoscaled: ReadonlyMap<string, number>;
}

/** A workload with what every device says about its instances. */
export function workloadView(workload: WorkloadRecord, fleet: FleetState): WorkloadView {
  const instances: InstanceStatus[] = [];
  for (const [deviceId, desired] of fleet.desired) {
    const reported = fleet.reported.get(deviceId);
    const deviceState = fleet.devices.get(deviceId)?.status?.state ?? 'unknown';
    for (const instance of desired.instances) {
      if (instance.workload !== workload.name) continue;
      const seen = reported?.instances.filter((r) => r.id === instance.id) ?? [];
      const current = seen.find((r) => r.revision === instance.revision) ?? seen[0];
      const applied = (reported?.observedGeneration ?? -1) >= desired.generation;
      instances.push(
        current
          ? { ...current, device: deviceId, deviceState, applied }
          : { id: instance.id, workload: workload.name, revision: instance.revision, runtime: instance.template.runtime, phase: 'pending', ready: false, restarts: 0, device: deviceId, deviceState, applied },
      );
    }
  }
  instances.sort((a, b) => (a.id === b.id ? a.device.localeCompare(b.device) : a.id.localeCompare(b.id)));
  const current = instances.filter((i) => i.revision === workload.revision);
  const unplacedReason = fleet.unplacedReasons.get(workload.name);
  return {
    name: workload.name,
    labels: workload.labels,
    spec: workload.spec,
    revision: workload.revision,
    createdAt: workload.createdAt,
    updatedAt: workload.updatedAt,
    status: {
      desired: workload.spec.replicas === 'all' ? instances.length : (effectiveReplicas(workload, fleet.autoscaled.get(workload.name)) as number),
      placed: instances.length,
      running: current.filter((i) => i.phase === 'running').length,
      ready: current.filter((i) => i.ready).length,
      ...(unplacedReason ? { unplacedReason } : {}),
      instances,
    },
  };
}
