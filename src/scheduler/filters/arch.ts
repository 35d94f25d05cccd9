// Arch: the workload's selector/affinity requirements on `edgepilot.io/arch`, which labels.ts
// derives from facts. Checked before the general selector so that a wrong-arch device is
// reported as "arch mismatch", the cause a technician needs to see (an arm64-only image).
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';
import { keyScopeAllows } from './key-scope.js';

export const archFilter: StaticFilter = {
  name: 'arch',
  check(device, workload) {
    return keyScopeAllows(workload.arch, device.index) ? undefined : reasons.archMismatch;
  },
};
