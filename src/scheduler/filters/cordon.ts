// NodeUnschedulable: a cordoned device takes no new replicas, unless the workload tolerates
// the `edgepilot.io/unschedulable:NoSchedule` taint (as pods tolerating node.kubernetes.io/unschedulable).
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const cordonFilter: StaticFilter = {
  name: 'cordon',
  check(device, workload) {
    return device.unschedulable && !workload.toleratesCordon ? reasons.cordoned : undefined;
  },
};
