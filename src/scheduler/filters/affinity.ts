// requiredDuringSchedulingIgnoredDuringExecution: at least one term must match entirely.
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';
import { matchesAnyTermAt } from '../label-index.js';

export const affinityFilter: StaticFilter = {
  name: 'affinity',
  check(device, workload) {
    return matchesAnyTermAt(workload.required, device.index) ? undefined : reasons.affinityMismatch;
  },
};
