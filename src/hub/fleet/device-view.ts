import type { DeviceView } from '../../protocol/index.js';
import type { DeviceRecord } from '../store/records.js';

/** The API's view of a device: everything but the credential hash. */
export function deviceView(device: DeviceRecord): DeviceView {
  const status = device.status;
  return {
    id: device.id,
    hostname: device.hostname,
    hardwareId: device.hardwareId,
    labels: device.labels,
    taints: device.taints,
    unschedulable: device.unschedulable,
    draining: device.draining ?? false,
    registeredAt: device.registeredAt,
    state: status?.state ?? 'unknown',
    ...(status ? { stateSince: status.since, agentVersion: status.agentVersion, bootId: status.bootId } : {}),
    ...(device.lastSeen ? { lastSeen: device.lastSeen } : {}),
    ...(device.facts ? { facts: device.facts } : {}),
  };
}
