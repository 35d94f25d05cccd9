// TaintToleration filter: NoSchedule and NoExecute taints repel unless tolerated; a NoExecute
// toleration with tolerationSeconds stops tolerating at addedAt + seconds. PreferNoSchedule
// is only a score (scores/taints.ts). The first repelling taint, in the device's order, is named.
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';
import { taintRepels } from '../tolerations.js';

export const taintFilter: StaticFilter = {
  name: 'taints',
  check(device, workload, now) {
    for (const taint of device.taints) {
      if (taintRepels(workload.tolerations, taint, now)) return reasons.taintNotTolerated(taint.key);
    }
    return undefined;
  },
};
