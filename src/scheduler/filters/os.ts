// OS: requirements on `edgepilot.io/os` (facts.os.platform, e.g. `linux`), as arch.ts.
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';
import { keyScopeAllows } from './key-scope.js';

export const osFilter: StaticFilter = {
  name: 'os',
  check(device, workload) {
    return keyScopeAllows(workload.os, device.index) ? undefined : reasons.osMismatch;
  },
};
