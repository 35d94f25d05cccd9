// NodePorts: a host port (per protocol) can be bound by one instance per device.
import type { DynamicFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const hostPortFilter: DynamicFilter = {
  name: 'hostPorts',
  check(_device, usage, workload) {
    for (const p of workload.hostPorts) if (usage.hostPorts.has(p)) return reasons.hostPortInUse(p);
    return undefined;
  },
};
