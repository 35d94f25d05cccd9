import type { DeviceView } from '../../protocol/index.js';
import type { DeviceRecord } from '../store/records.js';
import { keyFingerprint } from './join-proof-check.js';

/** The API's view of a device: everything but the credential hash and keys. */
export function deviceView(device: Readonly<DeviceRecord>): DeviceView {
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
    ...(device.pendingRejoin
      ? {
          pendingRejoin: {
            keyFingerprint: keyFingerprint(device.pendingRejoin.publicKey),
            hostname: device.pendingRejoin.hostname,
            tokenId: device.pendingRejoin.tokenId,
            requestedAt: device.pendingRejoin.requestedAt,
            approved: device.pendingRejoin.approvedAt !== undefined,
          },
        }
      : {}),
  };
}
