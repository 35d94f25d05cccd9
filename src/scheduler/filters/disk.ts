// Disk: free space (facts) minus the reserve must cover the disk requested by placed replicas
// plus this one. Until the protocol has a disk request this is the kubelet's disk-pressure
// check: a device below the reserve takes nothing.
import type { DynamicFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const diskFilter: DynamicFilter = {
  name: 'disk',
  check(device, usage, workload) {
    return usage.diskBytes + workload.diskBytes > device.allocatableDisk ? reasons.insufficientDisk : undefined;
  },
};
