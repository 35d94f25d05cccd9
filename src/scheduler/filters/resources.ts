// NodeResourcesFit: requests against allocatable (facts − reserve − already placed). As in
// Kubernetes, a zero request always fits, even on an overcommitted device.
import type { DynamicFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const cpuFilter: DynamicFilter = {
  name: 'cpu',
  check(device, usage, workload) {
    const want = workload.cpuMillis;
    return want > 0 && usage.cpuMillis + want > device.allocatableCpu ? reasons.insufficientCpu : undefined;
  },
};

export const memoryFilter: DynamicFilter = {
  name: 'memory',
  check(device, usage, workload) {
    const want = workload.memoryBytes;
    return want > 0 && usage.memoryBytes + want > device.allocatableMemory ? reasons.insufficientMemory : undefined;
  },
};
