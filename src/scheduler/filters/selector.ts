// The workload's label selector (matchLabels + matchExpressions), arch/os requirements aside.
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';
import { matchesAllAt } from '../label-index.js';

export const selectorFilter: StaticFilter = {
  name: 'selector',
  check(device, workload) {
    return matchesAllAt(workload.selector, device.index) ? undefined : reasons.selectorMismatch;
  },
};
